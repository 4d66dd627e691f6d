// POST /v1/decisions/<id>/approve|decline for the daemon's HTTP server: a plain node:http handler that answers
// the requests it owns and returns false for any other path, so the daemon can chain handlers.
import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { ApprovalError } from '../../errors/approval-error.js';
import type { ApprovalService } from '../../guard/approval-service.js';
import { forwardUnlessLeader } from './forward-to-leader.js';
import { readBody, sendJson, unknownFields } from './read-body.js';

export type Handler = (req: IncomingMessage, res: ServerResponse) => Promise<boolean>;

export interface ApprovalHandlerOptions {
  service: ApprovalService;
  /** The API token (env ROLLBACK_GUARD_API_TOKEN or its _FILE), read per request so rotation works. */
  token: () => string;
  /** False on a replica that is not the leader: it forwards the request to the leader (or answers 503 naming it). */
  isLeader: () => boolean;
  /** The leader's identity, for messages. */
  leader: () => string | undefined;
  /** The leader's API base URL (from the Lease), to forward to. */
  leaderUrl?: () => string | undefined;
}

const PATH = /^\/v1\/decisions\/([^/]+)\/(approve|decline)\/?$/;
/** A verdict is a name and a sentence: 8 KiB is plenty, and bounds what an authenticated caller can make us hold. */
export const MAX_BODY_BYTES = 8 * 1024;

/** Compares digests, so neither the length nor a prefix of the token leaks through timing. */
export function sameSecret(given: string, expected: string): boolean {
  const a = createHash('sha256').update(given).digest();
  const b = createHash('sha256').update(expected).digest();
  return timingSafeEqual(a, b) && expected.length > 0;
}

export function approvalHandler(o: ApprovalHandlerOptions): Handler {
  return async (req, res) => {
    const url = new URL(req.url ?? '/', 'http://localhost');
    const m = PATH.exec(url.pathname);
    if (!m) return false;
    if (req.method !== 'POST') {
      sendJson(res, 405, { error: 'RG_METHOD', message: `use POST ${url.pathname}` }, { allow: 'POST' });
      return true;
    }
    const auth = req.headers.authorization ?? '';
    const given = /^Bearer\s+(.+)$/i.exec(auth)?.[1]?.trim() ?? '';
    let expected: string;
    try {
      expected = o.token();
    } catch (err) {
      sendJson(res, 503, { error: 'RG_SECRET_MISSING', message: `approvals are disabled: ${(err as Error).message}` });
      return true;
    }
    if (!given || !sameSecret(given, expected)) {
      sendJson(res, 401, { error: 'RG_UNAUTHORIZED', message: 'missing or wrong bearer token: send Authorization: Bearer <ROLLBACK_GUARD_API_TOKEN>' }, { 'www-authenticate': 'Bearer realm="rollback-guard"' });
      return true;
    }
    const text = await readBody(req, MAX_BODY_BYTES);
    if (text === undefined) {
      sendJson(res, 413, { error: 'RG_APPROVAL_INVALID', message: `the body is over ${MAX_BODY_BYTES} bytes; send {"by": "NAME", "reason": "TEXT"}` });
      return true;
    }
    if (await forwardUnlessLeader(o, req, res, text)) return true;
    const id = Number(m[1]);
    if (!Number.isSafeInteger(id) || id <= 0) {
      sendJson(res, 400, { error: 'RG_APPROVAL_INVALID', message: `"${m[1]}" is not a decision id; use the number from the page` });
      return true;
    }
    let body: { by?: unknown; reason?: unknown };
    try {
      body = text ? (JSON.parse(text) as { by?: unknown; reason?: unknown }) : {};
    } catch {
      sendJson(res, 400, { error: 'RG_APPROVAL_INVALID', message: 'the body must be JSON: {"by": "NAME", "reason": "TEXT"}' });
      return true;
    }
    const unknown = unknownFields(body, ['by', 'reason']);
    if (unknown) {
      sendJson(res, 400, { error: 'RG_APPROVAL_INVALID', message: unknown });
      return true;
    }
    if (typeof body.by !== 'string' || (body.reason !== undefined && typeof body.reason !== 'string')) {
      sendJson(res, 400, { error: 'RG_APPROVAL_INVALID', message: 'give "by" (the approver\'s name) as a string, and "reason" as a string if any' });
      return true;
    }
    try {
      const r = o.service.decide({ decisionId: id, verdict: m[2] === 'approve' ? 'approved' : 'declined', by: body.by, via: 'api', ...(typeof body.reason === 'string' && body.reason ? { reason: body.reason } : {}) });
      const outcome = await r.outcome;
      sendJson(res, 200, { decision: r.pageDecisionId, verdict: r.verdict, by: r.by, at: r.at, ...(outcome ? { outcome } : {}) });
    } catch (err) {
      if (err instanceof ApprovalError) sendJson(res, err.httpStatus, { error: err.code, message: err.message });
      else throw err;
    }
    return true;
  };
}
