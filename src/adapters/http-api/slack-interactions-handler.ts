// POST /v1/slack/interactions: Slack's callback when someone presses Approve / Decline on a page. The request
// is verified with Slack's v0 signature (HMAC-SHA256 of "v0:<timestamp>:<raw body>" with the signing secret)
// and refused when older than 5 minutes (replay). Slack wants an answer within 3 s, so the verdict is recorded,
// answered, and the rollback goes on in the background; the page message is updated through the outbox.
import { createHmac } from 'node:crypto';
import type { Approver } from '../../core/ruleset.js';
import { ApprovalError } from '../../errors/approval-error.js';
import type { ApprovalService } from '../../guard/approval-service.js';
import { sameSecret, type Handler } from './approval-handler.js';
import { forwardUnlessLeader } from './forward-to-leader.js';
import { readBody, sendJson } from './read-body.js';

export const SLACK_MAX_AGE_SECONDS = 300;

export interface SlackInteractionsOptions {
  service: ApprovalService;
  /** Slack's signing secret (env SLACK_SIGNING_SECRET or its _FILE). */
  signingSecret: () => string;
  /** Slack user id -> approver, from the `notifications.approvers` of the rules file guarding the decision. */
  approvers: (decisionId: number) => Readonly<Record<string, Approver>>;
  isLeader: () => boolean;
  leader: () => string | undefined;
  /** The leader's API base URL (from the Lease): a follower forwards the signed request there. */
  leaderUrl?: () => string | undefined;
  now: () => number;
}

export function slackSignature(secret: string, timestamp: string, body: string): string {
  return 'v0=' + createHmac('sha256', secret).update(`v0:${timestamp}:${body}`).digest('hex');
}

export function slackInteractionsHandler(o: SlackInteractionsOptions): Handler {
  return async (req, res) => {
    const url = new URL(req.url ?? '/', 'http://localhost');
    if (url.pathname !== '/v1/slack/interactions') return false;
    if (req.method !== 'POST') {
      sendJson(res, 405, { error: 'RG_METHOD', message: 'use POST' }, { allow: 'POST' });
      return true;
    }
    const body = await readBody(req);
    if (body === undefined) {
      sendJson(res, 413, { error: 'RG_SLACK_PAYLOAD', message: 'the body is over 64 KiB: not an interaction payload' });
      return true;
    }
    const ts = String(req.headers['x-slack-request-timestamp'] ?? '');
    const sig = String(req.headers['x-slack-signature'] ?? '');
    const age = Math.abs(o.now() / 1000 - Number(ts));
    if (!/^\d+$/.test(ts) || !(age <= SLACK_MAX_AGE_SECONDS)) {
      sendJson(res, 401, { error: 'RG_SLACK_STALE', message: `request timestamp missing or more than ${SLACK_MAX_AGE_SECONDS} s from now: refused (replay protection)` });
      return true;
    }
    let secret: string;
    try {
      secret = o.signingSecret();
    } catch (err) {
      sendJson(res, 503, { error: 'RG_SECRET_MISSING', message: `Slack interactions are disabled: ${(err as Error).message}` });
      return true;
    }
    if (!sameSecret(sig, slackSignature(secret, ts, body))) {
      sendJson(res, 401, { error: 'RG_SLACK_SIGNATURE', message: 'bad Slack signature: check SLACK_SIGNING_SECRET' });
      return true;
    }
    // Verified here first, then on the leader again (the signature and timestamp headers go with it).
    if (await forwardUnlessLeader(o, req, res, body)) return true;
    let payload: { type?: string; user?: { id?: string; username?: string }; actions?: { action_id?: string; value?: string }[] };
    try {
      payload = JSON.parse(new URLSearchParams(body).get('payload') ?? '') as typeof payload;
    } catch {
      sendJson(res, 400, { error: 'RG_SLACK_PAYLOAD', message: 'expected a form body with a JSON "payload"' });
      return true;
    }
    const action = payload.actions?.[0];
    if (payload.type !== 'block_actions' || !action || (action.action_id !== 'approve' && action.action_id !== 'decline')) {
      sendJson(res, 200, { text: 'Nothing to do for this interaction.' });
      return true;
    }
    const userId = payload.user?.id ?? '';
    const approver = o.approvers(Number(action.value))[userId];
    if (!approver) {
      sendJson(res, 200, { response_type: 'ephemeral', replace_original: false, text: `You (${userId}) are not an approver for rollback-guard: ask to be added under notifications.approvers.` });
      return true;
    }
    try {
      const r = o.service.decide({ decisionId: Number(action.value), verdict: action.action_id === 'approve' ? 'approved' : 'declined', by: approver.name, approver, via: 'slack', reason: `via Slack (${userId})` });
      sendJson(res, 200, { response_type: 'ephemeral', replace_original: false, text: `Recorded: decision ${r.pageDecisionId} ${r.verdict} by ${r.by}.` });
    } catch (err) {
      if (!(err instanceof ApprovalError)) throw err;
      sendJson(res, 200, { response_type: 'ephemeral', replace_original: false, text: err.message });
    }
    return true;
  };
}
