// Calls the running daemon's HTTP API for the CLI commands that act through it (approve, decline, trigger).
import { readSecret } from '../adapters/secrets/read-secret.js';
import { UsageError } from '../errors/usage-error.js';

export interface DaemonAnswer {
  status: number;
  ok: boolean;
  body: Record<string, unknown>;
}

/** POSTs JSON with the API token (ROLLBACK_GUARD_API_TOKEN or _FILE) to `path` under the daemon's URL. */
export async function postToDaemon(urlFlag: string | undefined, path: string, body: unknown): Promise<DaemonAnswer> {
  const base = urlFlag ?? process.env.ROLLBACK_GUARD_URL;
  if (!base) throw new UsageError("give the daemon's URL with --url or ROLLBACK_GUARD_URL, e.g. http://rollback-guard.voice-production:8080");
  const token = readSecret('ROLLBACK_GUARD_API_TOKEN');
  let url: URL;
  try {
    url = new URL(path, base.endsWith('/') ? base : base + '/');
  } catch (err) {
    throw new UsageError(`--url / ROLLBACK_GUARD_URL ${JSON.stringify(base)} is not a URL; give the daemon's base URL, e.g. http://rollback-guard.voice-production:8080`, { cause: err });
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new UsageError(`--url / ROLLBACK_GUARD_URL ${JSON.stringify(base)} is not an http(s) URL; e.g. http://rollback-guard.voice-production:8080`);
  let res: Response;
  try {
    res = await fetch(url, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: JSON.stringify(body),
      signal: AbortSignal.timeout(120_000), // a rollback and its verification run inside the request
    });
  } catch (err) {
    const c = (err as { cause?: { code?: string; message?: string } }).cause;
    let cause = c?.code ?? c?.message ?? (err as Error).message;
    // fetch refuses ports browsers block (6000 X11, 6665-6669 IRC, ...) with a bare "bad port".
    if (cause === 'bad port') cause = `port ${url.port} is one that Node's fetch refuses to use (the WHATWG list of blocked ports); run the daemon on another port`;
    throw new UsageError(`cannot reach the daemon at ${url.origin}: ${cause}; check --url / ROLLBACK_GUARD_URL`, { cause: err });
  }
  return { status: res.status, ok: res.ok, body: (await res.json().catch(() => ({}))) as Record<string, unknown> };
}

/** The daemon's explanation of a refusal (its handlers say `message` or `error`). */
export function refusal(a: DaemonAnswer): string {
  const m = a.body.message ?? a.body.error;
  return typeof m === 'string' ? m : `HTTP ${a.status}`;
}
