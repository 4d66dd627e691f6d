// One Kubernetes API call with a timeout, its failure turned into a KubernetesError with a stable code.
import { KubernetesError, type KubernetesErrorCode } from '../../errors/kubernetes-error.js';

export async function kubeCall<T>(what: string, timeoutMs: number, call: () => Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new KubernetesError('RG_K8S_TIMEOUT', `${what}: no answer from the Kubernetes API within ${timeoutMs} ms`)), timeoutMs);
  });
  try {
    return await Promise.race([call(), timeout]);
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
