// A follower's answer to a request only the leader may act on (approve, decline, Slack's buttons, a trigger):
// the request, authenticated here first, is sent on to the leader's API (its URL from the Lease) and the leader's
// answer relayed, so a client behind a Service that balances across replicas never has to find the leader.
// Forwarded once only: a forwarded request that reaches a follower (the lease moved meanwhile) gets the 503.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { sendJson } from './read-body.js';

export const FORWARDED = 'x-rollback-guard-forwarded';
/** Headers the leader needs to authenticate the request again; nothing else is passed on. */
const PASSED = ['authorization', 'content-type', 'x-slack-signature', 'x-slack-request-timestamp'];

export interface LeaderRoute {
  isLeader: () => boolean;
  /** The leader's name, for messages. */
  leader: () => string | undefined;
  /** The leader's API base URL (`http://10.0.0.7:8080`), when its Lease says. */
  leaderUrl?: () => string | undefined;
  /** How long to wait for the leader's answer, ms. Default 30000 (an approval waits for its rollback's PATCH). */
  timeoutMs?: number;
}

/**
 * On a follower: forwards `body` to the leader and relays its answer, or answers 503 naming the leader when it
 * cannot (no URL known, already forwarded, or the leader unreachable). Returns false on the leader: act here.
 */
export async function forwardUnlessLeader(o: LeaderRoute, req: IncomingMessage, res: ServerResponse, body: string | undefined): Promise<boolean> {
  if (o.isLeader()) return false;
  const leader = o.leader();
  const url = o.leaderUrl?.();
  const refuse = (why: string) => sendJson(res, 503, { error: 'RG_NOT_LEADER', leader: leader ?? null, message: `this replica is not the leader${why}; send the request to ${leader ?? 'the leader (unknown right now: retry shortly)'}` }, { 'retry-after': '5' });
  if (!url || !/^https?:\/\//.test(url)) {
    refuse('');
    return true;
  }
  if (req.headers[FORWARDED] !== undefined) {
    refuse(' either (the request was forwarded here, and the lease has moved since)');
    return true;
  }
  const headers: Record<string, string> = { [FORWARDED]: '1' };
  for (const h of PASSED) {
    const v = req.headers[h];
    if (typeof v === 'string') headers[h] = v;
  }
  // The leader's origin, and only the path and query of the request: a request target such as `//other.host/...`
  // or `http://other.host/...` must never choose where an authenticated request goes.
  const asked = new URL(req.url ?? '/', 'http://localhost');
  const target = new URL(asked.pathname + asked.search, url);
  if (target.origin !== new URL(url).origin) {
    refuse('');
    return true;
  }
  try {
    const r = await fetch(target, { method: req.method ?? 'POST', headers, ...(body !== undefined && req.method !== 'GET' ? { body } : {}), redirect: 'manual', signal: AbortSignal.timeout(o.timeoutMs ?? 30_000) });
    const text = await r.text();
    res.writeHead(r.status, { 'content-type': r.headers.get('content-type') ?? 'application/json; charset=utf-8', 'cache-control': 'no-store', 'x-rollback-guard-leader': leader ?? '' }).end(text);
  } catch (err) {
    refuse(`, and forwarding to the leader at ${url} failed (${(err as Error).message})`);
  }
  return true;
}
