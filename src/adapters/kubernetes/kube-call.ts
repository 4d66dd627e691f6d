// One Kubernetes API call with a timeout, its failure turned into a KubernetesError with a stable code.
import type { ConfigurationOptions, RequestContext } from '@kubernetes/client-node';
import { KubernetesError, type KubernetesErrorCode } from '../../errors/kubernetes-error.js';

/**
 * Runs `call` with options that abort its HTTP request after `timeoutMs`: a timed-out patch must not land later,
 * behind the guard's back, after it has re-read and decided again. Pass `options` to the API method (and
 * through setHeaderOptions(..., options) when setting headers).
 */
export async function kubeCall<T>(what: string, timeoutMs: number, call: (options: ConfigurationOptions) => Promise<T>): Promise<T> {
  const abort = new AbortController();
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      abort.abort();
      reject(new KubernetesError('RG_K8S_TIMEOUT', `${what}: no answer from the Kubernetes API within ${timeoutMs} ms`));
    }, timeoutMs);
  });
  // Middleware returns the client's own minimal Observable (anything with toPromise), as setHeaderOptions' does.
  const observable = <V>(value: V) => ({ toPromise: () => Promise.resolve(value) });
  const signal = {
    pre: (ctx: RequestContext) => {
      ctx.setSignal(abort.signal);
      return observable(ctx);
    },
    post: (res: unknown) => observable(res),
  };
  const options = { middleware: [signal], middlewareMergeStrategy: 'append' } as unknown as ConfigurationOptions;
  try {
    return await Promise.race([call(options), timeout]);
  } catch (err) {
    throw toKubernetesError(what, err);
  } finally {
    clearTimeout(timer);
  }
}

export function toKubernetesError(what: string, err: unknown): KubernetesError {
  if (err instanceof KubernetesError) return err;
  const e = err as { code?: unknown; body?: unknown; message?: string };
  if (typeof e.code === 'number') {
    const status = e.code;
    const code: KubernetesErrorCode = status === 401 || status === 403 ? 'RG_K8S_FORBIDDEN' : status === 404 ? 'RG_K8S_NOT_FOUND' : status === 409 ? 'RG_K8S_CONFLICT' : 'RG_K8S_API';
    const hint = code === 'RG_K8S_FORBIDDEN' ? ' (the service account lacks this permission: see RBAC in the README)' : '';
    return new KubernetesError(code, `${what}: HTTP ${status}: ${statusMessage(e.body)}${hint}`, { status, cause: err });
  }
  return new KubernetesError('RG_K8S_UNREACHABLE', `${what}: cannot reach the Kubernetes API: ${typeof e.code === 'string' ? `${e.code} ` : ''}${e.message ?? String(err)}`, { cause: err });
}

/** The API server's Status message; the client hands the body over as a JSON string. */
function statusMessage(body: unknown): string {
  if (typeof body === 'string') {
    try {
      const s = JSON.parse(body) as { message?: unknown };
      if (typeof s.message === 'string') return s.message;
    } catch {
      /* not JSON */
    }
    return body.slice(0, 200);
  }
  const m = (body as { message?: unknown } | undefined)?.message;
  return typeof m === 'string' ? m : 'no message';
}
