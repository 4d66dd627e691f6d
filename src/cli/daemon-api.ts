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
  const url = new URL(path, base.endsWith('/') ? base : base + '/');
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
    const cause = c?.code ?? c?.message ?? (err as Error).message;
    throw new UsageError(`cannot reach the daemon at ${url.origin}: ${cause}; check --url / ROLLBACK_GUARD_URL`, { cause: err });
  }
  return { status: res.status, ok: res.ok, body: (await res.json().catch(() => ({}))) as Record<string, unknown> };
}

/** The daemon's explanation of a refusal (its handlers say `message` or `error`). */
export function refusal(a: DaemonAnswer): string {
  const m = a.body.message ?? a.body.error;
  return typeof m === 'string' ? m : `HTTP ${a.status}`;
}
