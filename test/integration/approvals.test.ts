// Approvals over the decision log, through the real HTTP handlers on a loopback server: bearer token, leader,
// 404 / 409 / 410, two approvals at once (exactly one acts), and Slack's signed interaction callbacks.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Decision } from '../../src/core/engine.js';
import type { NotifiedDecision } from '../../src/core/notification-plan.js';
import { planNotifications } from '../../src/core/notification-plan.js';
import { approvalHandler } from '../../src/adapters/http-api/approval-handler.js';
import { slackInteractionsHandler, slackSignature } from '../../src/adapters/http-api/slack-interactions-handler.js';
import { SqliteActionJournal } from '../../src/adapters/sqlite/sqlite-action-journal.js';
import { ApprovalService } from '../../src/guard/approval-service.js';
import { DeliveryWorker } from '../../src/guard/delivery-worker.js';
import type { PagerDutyStandIn } from '../helpers/pagerduty-stand-in.js';
import { notifiers, PAGING_RULES, pagingRuleset, usePagingStandIns, T0, type PagingWorld } from '../helpers/paging-fixture.js';
import type { SlackStandIn } from '../helpers/slack-stand-in.js';

const standIns = usePagingStandIns();
const TOKEN = 'approval-token-for-tests';
const SIGNING_SECRET = '8f742231b10e8888abcd99yyyzzz85a5';

function decision(world: PagingWorld, at: number, over: Partial<Decision> = {}): NotifiedDecision {
  const d: Decision = {
    at, action: 'page', tier: 'considered', rule: 'ttfa-regression', level: 1, value: 0.7747, threshold: 0.6, mode: 'enforce',
    evidence: { rule: 'ttfa-regression', tier: 'considered', comparison: 'above', value: 0.7747, threshold: 0.6, release: { startedAt: T0, severity: 'minor', windowEnd: T0 + 3_600_000 }, rulesHash: world.ruleset.hash },
    ...over,
  };
  return world.store.recordInstant(world.release.id, at, { rules: {} }, [], [d])[0]!;
}

describe('approvals', () => {
  let world: PagingWorld;
  let server: http.Server;
  let base: string;
  let now: number;
  let leader: boolean;
  let acted: number[];
  let pd: PagerDutyStandIn;
  let slack: SlackStandIn;
  let worker: DeliveryWorker;
  let service: ApprovalService;

  beforeEach(async () => {
    ({ pd, slack, world } = standIns());
    now = T0 + 20 * 60_000;
    leader = true;
    acted = [];
    worker = new DeliveryWorker({ outbox: world.outbox, notifiers: notifiers(pd, slack, world.ruleset.notifications), settings: () => world.ruleset.notifications, now: () => now });
    service = new ApprovalService({
      db: world.store.db, outbox: world.outbox, settings: () => world.ruleset.notifications, now: () => now,
      act: async (d) => {
        acted.push(d.id);
        await new Promise((r) => setTimeout(r, 20)); // a rollback takes a while: a second request arrives meanwhile
        return { ok: true, detail: 'rolled back' };
      },
    });
    const handlers = [
      approvalHandler({ service, token: () => TOKEN, isLeader: () => leader, leader: () => 'rollback-guard-0 (http://10.0.0.7:8080)' }),
      slackInteractionsHandler({ service, signingSecret: () => SIGNING_SECRET, approvers: () => world.ruleset.notifications.approvers, isLeader: () => leader, leader: () => 'rollback-guard-0', now: () => now }),
    ];
    server = http.createServer((req, res) => {
      void (async () => {
        for (const h of handlers) if (await h(req, res)) return;
        res.writeHead(404).end();
      })();
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterEach(async () => {
    await service.idle();
    await new Promise((r) => server.close(r));
  });

  const post = async (path: string, body: unknown, token = TOKEN) => {
    const res = await fetch(base + path, { method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body: JSON.stringify(body) });
    return { status: res.status, body: (await res.json()) as Record<string, unknown> };
  };

  it('approves once: records who decided, acts, and answers 409 to the second approval', async () => {
    const d = decision(world, T0 + 10 * 60_000);
    const r = await post(`/v1/decisions/${d.id}/approve`, { by: 'alice', reason: 'TTFA regression confirmed' });
    expect(r).toEqual({ status: 200, body: { decision: d.id, verdict: 'approved', by: 'alice', at: '2026-11-20T14:20:00Z', outcome: { ok: true, detail: 'rolled back' } } });
    expect(acted).toEqual([d.id]);
    expect(world.store.db.prepare(`SELECT verdict, by, reason, via, outcome FROM approvals`).all()).toEqual([{ verdict: 'approved', by: 'alice', reason: 'TTFA regression confirmed', via: 'api', outcome: 'ok: rolled back' }]);
    const again = await post(`/v1/decisions/${d.id}/decline`, { by: 'bob' });
    expect(again.status).toBe(409);
    expect(again.body.message).toBe(`decision ${d.id} was already approved by alice at 2026-11-20T14:20:00.000Z; nothing was changed`);
    expect(acted).toEqual([d.id]);
  });

  it('two approvals at once: exactly one acts, the other gets 409', async () => {
    const d = decision(world, T0 + 10 * 60_000);
    const results = await Promise.all([post(`/v1/decisions/${d.id}/approve`, { by: 'alice' }), post(`/v1/decisions/${d.id}/approve`, { by: 'bob' })]);
    expect(results.map((r) => r.status).sort()).toEqual([200, 409]);
    expect(acted).toEqual([d.id]);
  });

  it('refuses a bad token (401), a replica that is not the leader (503 naming it), unknown ids (404), and things that are not pending pages (410)', async () => {
    const d = decision(world, T0 + 10 * 60_000);
    expect((await post(`/v1/decisions/${d.id}/approve`, { by: 'alice' }, 'wrong')).status).toBe(401);
    leader = false;
    const follower = await post(`/v1/decisions/${d.id}/approve`, { by: 'alice' });
    expect(follower).toMatchObject({ status: 503, body: { error: 'RG_NOT_LEADER', leader: 'rollback-guard-0 (http://10.0.0.7:8080)' } });
    leader = true;
    expect((await post(`/v1/decisions/999999/approve`, { by: 'alice' })).status).toBe(404);
    expect((await post(`/v1/decisions/${d.id}/approve`, {})).status).toBe(400);
    const rb = decision(world, T0 + 11 * 60_000, { action: 'rollback', tier: 'immediate', rule: 'error-rate-critical' });
    expect((await post(`/v1/decisions/${rb.id}/approve`, { by: 'alice' })).body.message).toBe(`decision ${rb.id} is a rollback, not a pending page: only pages wait for approval`);
    world.store.recordInstant(world.release.id, T0 + 12 * 60_000, { rules: {}, outcome: { kind: 'rolled-back', at: T0 + 12 * 60_000 } }, [], []);
    const over = await post(`/v1/decisions/${d.id}/approve`, { by: 'alice' });
    expect(over.status).toBe(410);
    expect(over.body.message).toMatch(/^release \d+ of voice-production\/voice-server is over \(rolled-back at 2026-11-20T14:12:00.000Z\)/);
    expect(acted).toEqual([]);
  });

  it('410 once the page resolved; approving an escalation approves its page', async () => {
    const page = decision(world, T0 + 10 * 60_000);
    const esc = decision(world, T0 + 25 * 60_000, { action: 'escalate', level: 2 });
    const r = await post(`/v1/decisions/${esc.id}/decline`, { by: 'alice' });
    expect(r).toMatchObject({ status: 200, body: { decision: page.id, verdict: 'declined' } });
    expect((await post(`/v1/decisions/${page.id}/approve`, { by: 'bob' })).status).toBe(409);
    const other = decision(world, T0 + 26 * 60_000, { rule: 'other-rule' });
    decision(world, T0 + 27 * 60_000, { rule: 'other-rule', action: 'resolve' });
    expect((await post(`/v1/decisions/${other.id}/approve`, { by: 'bob' })).status).toBe(410);
    expect(acted).toEqual([]);
  });

  it("a manual trigger's page has no rule: approving its escalation approves that page, and the approver is found from either", async () => {
    const manual = { rule: null, value: null, threshold: null };
    decision(world, T0 + 5 * 60_000); // a rule's page earlier in the release: not the one approved
    const page = decision(world, T0 + 10 * 60_000, manual);
    const esc = decision(world, T0 + 25 * 60_000, { ...manual, action: 'escalate', level: 2 });
    const r = await post(`/v1/decisions/${esc.id}/approve`, { by: 'alice' });
    expect(r).toMatchObject({ status: 200, body: { decision: page.id, verdict: 'approved' } });
    expect(acted).toEqual([page.id]);
    const journal = new SqliteActionJournal(world.store.db);
    expect([journal.approverOf(page.id), journal.approverOf(esc.id)]).toEqual(['alice', 'alice']);
  });

  it('with approvalLevel 2 (checklist 5.1: Tech Lead approval) refuses a lower level from the API with 403 and records nothing; the tech lead approves', async () => {
    world.ruleset = pagingRuleset(PAGING_RULES.replace('  approvers: { U0ALICE: alice }', '  approvalLevel: 2\n  approvers: { U0ALICE: { name: alice, level: 1 }, U0BOB: { name: Bob, level: 2 } }'));
    const d = decision(world, T0 + 10 * 60_000);
    const oncall = await post(`/v1/decisions/${d.id}/approve`, { by: 'alice' });
    expect(oncall).toEqual({ status: 403, body: { error: 'RG_APPROVAL_FORBIDDEN', message: `decision ${d.id} not approved: alice is listed at level 1 (on-call engineer); considered rollbacks need approval at level 2 (tech lead) or higher (notifications.approvalLevel)` } });
    expect((await post(`/v1/decisions/${d.id}/decline`, { by: 'mallory' })).body.message).toBe(`decision ${d.id} not declined: mallory is not listed with a level under notifications.approvers; considered rollbacks need approval at level 2 (tech lead) or higher (notifications.approvalLevel)`);
    expect(world.store.db.prepare(`SELECT count(*) AS n FROM approvals`).get()).toEqual({ n: 0 });
    expect(world.outbox.health().depth).toBe(0);
    expect(await post(`/v1/decisions/${d.id}/approve`, { by: 'bob' })).toMatchObject({ status: 200, body: { verdict: 'approved', by: 'bob' } });
    expect(acted).toEqual([d.id]);
  });

  it('a follower forwards an approval and a Slack button to the leader (its URL from the Lease) and relays the answer, once only (issue 19)', async () => {
    const followers: http.Server[] = [];
    const follower = async (leaderUrl: string) => {
      const hs = [
        approvalHandler({ service, token: () => TOKEN, isLeader: () => false, leader: () => 'rollback-guard-0', leaderUrl: () => leaderUrl }),
        slackInteractionsHandler({ service, signingSecret: () => SIGNING_SECRET, approvers: () => world.ruleset.notifications.approvers, isLeader: () => false, leader: () => 'rollback-guard-0', leaderUrl: () => leaderUrl, now: () => now }),
      ];
      const srv = http.createServer((req, res) => void (async () => { for (const h of hs) if (await h(req, res)) return; res.writeHead(404).end(); })());
      await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
      followers.push(srv);
      return `http://127.0.0.1:${(srv.address() as AddressInfo).port}`;
    };
    const send = async (at: string, path: string, body: unknown, token = TOKEN) => {
      const res = await fetch(at + path, { method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body: JSON.stringify(body) });
      return { status: res.status, body: (await res.json()) as Record<string, unknown>, leader: res.headers.get('x-rollback-guard-leader') };
    };
    try {
      const f1 = await follower(base);
      const d = decision(world, T0 + 10 * 60_000);
      // Authenticated on the follower first: a wrong token never reaches the leader.
      expect((await send(f1, `/v1/decisions/${d.id}/approve`, { by: 'alice' }, 'wrong')).status).toBe(401);
      expect(acted).toEqual([]);
      const r = await send(f1, `/v1/decisions/${d.id}/approve`, { by: 'alice', reason: 'confirmed' });
      expect(r).toEqual({ status: 200, body: { decision: d.id, verdict: 'approved', by: 'alice', at: '2026-11-20T14:20:00Z', outcome: { ok: true, detail: 'rolled back' } }, leader: 'rollback-guard-0' });
      expect(acted).toEqual([d.id]);
      // The leader's 409 comes back as it is.
      expect((await send(f1, `/v1/decisions/${d.id}/decline`, { by: 'bob' })).status).toBe(409);
      // A request target naming another host (`//host/...`) never sends the token there: only to the leader.
      const trap: string[] = [];
      const trapServer = http.createServer((req, res) => (trap.push(req.url ?? ''), res.writeHead(200).end('{}')));
      await new Promise<void>((r) => trapServer.listen(0, '127.0.0.1', r));
      followers.push(trapServer);
      const trapHost = `127.0.0.1:${(trapServer.address() as AddressInfo).port}`;
      const raw = await new Promise<number>((resolve, reject) => {
        const u = new URL(f1);
        const rq = http.request({ host: u.hostname, port: u.port, method: 'POST', path: `//${trapHost}/v1/decisions/${d.id}/decline`, headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' } }, (res) => {
          res.resume();
          resolve(res.statusCode ?? 0);
        });
        rq.on('error', reject);
        rq.end(JSON.stringify({ by: 'mallory' }));
      });
      expect(raw).toBe(409); // the leader's answer: already approved
      expect(trap).toEqual([]);
      // Slack's signed callback, through the follower: the leader verifies the same signature and records it.
      const p2 = decision(world, T0 + 11 * 60_000, { rule: 'other-rule' });
      const body = new URLSearchParams({ payload: JSON.stringify({ type: 'block_actions', user: { id: 'U0ALICE' }, actions: [{ action_id: 'decline', value: String(p2.id) }] }) }).toString();
      const ts = String(Math.floor(now / 1000));
      const slackRes = await fetch(`${f1}/v1/slack/interactions`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded', 'x-slack-request-timestamp': ts, 'x-slack-signature': slackSignature(SIGNING_SECRET, ts, body) }, body });
      expect(slackRes.status).toBe(200);
      expect(((await slackRes.json()) as { text: string }).text).toBe(`Recorded: decision ${p2.id} declined by alice.`);
      // Forwarded once only: the Lease named a replica that is not the leader either (it moved): 503, no loop.
      const f2 = await follower(f1);
      const d3 = decision(world, T0 + 12 * 60_000, { rule: 'third-rule' });
      const looped = await send(f2, `/v1/decisions/${d3.id}/approve`, { by: 'alice' });
      expect(looped).toMatchObject({ status: 503, body: { error: 'RG_NOT_LEADER', message: expect.stringContaining('the request was forwarded here, and the lease has moved since') } });
      // The leader unreachable: 503 saying so.
      const f3 = await follower('http://127.0.0.1:1');
      expect(await send(f3, `/v1/decisions/${d3.id}/approve`, { by: 'alice' })).toMatchObject({ status: 503, body: { error: 'RG_NOT_LEADER', message: expect.stringContaining('forwarding to the leader at http://127.0.0.1:1 failed') } });
      expect(acted).toEqual([d.id]);
    } finally {
      for (const f of followers) await new Promise((r) => f.close(r));
    }
  });

  describe('Slack interactions', () => {
    const interact = async (payload: unknown, opts: { at?: number; secret?: string } = {}) => {
      const body = new URLSearchParams({ payload: JSON.stringify(payload) }).toString();
      const ts = String(Math.floor((opts.at ?? now) / 1000));
      const res = await fetch(`${base}/v1/slack/interactions`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded', 'x-slack-request-timestamp': ts, 'x-slack-signature': slackSignature(opts.secret ?? SIGNING_SECRET, ts, body) },
        body,
      });
      return { status: res.status, body: (await res.json()) as Record<string, unknown> };
    };
    const press = (id: number, action: 'approve' | 'decline', user = 'U0ALICE') => ({ type: 'block_actions', user: { id: user }, actions: [{ action_id: action, value: String(id) }] });

    it('approves from the button, updates the page message to show who decided, and acknowledges the incident', async () => {
      const d = decision(world, T0 + 10 * 60_000);
      world.outbox.enqueue(planNotifications(world.ruleset.notifications, world.release, { kind: 'decision', decision: d }), world.release.id, now);
      await worker.runOnce(now);
      const r = await interact(press(d.id, 'approve'));
      expect(r).toMatchObject({ status: 200, body: { text: `Recorded: decision ${d.id} approved by alice.` } });
      await worker.runOnce(now);
      expect(slack.messages).toHaveLength(1);
      expect(slack.messages[0]!.text).toContain(':white_check_mark: Rollback approved by alice at 2026-11-20T14:20:00Z');
      expect(pd.incidents.get(`R0ONCALL00000000000000000000000A/${pd.accepted[0]!.dedup_key}`)?.status).toBe('acknowledged');
      await service.idle();
      expect(acted).toEqual([d.id]);
    });

    it('refuses a bad signature and a request older than 5 minutes, and Slack users who are not approvers', async () => {
      const d = decision(world, T0 + 10 * 60_000);
      expect(await interact(press(d.id, 'approve'), { secret: 'not-the-secret' })).toMatchObject({ status: 401, body: { error: 'RG_SLACK_SIGNATURE' } });
      expect(await interact(press(d.id, 'approve'), { at: now - 301_000 })).toMatchObject({ status: 401, body: { error: 'RG_SLACK_STALE' } });
      expect(await interact(press(d.id, 'approve'), { at: now - 299_000 })).toMatchObject({ status: 200, body: { text: `Recorded: decision ${d.id} approved by alice.` } });
      const d2 = decision(world, T0 + 11 * 60_000, { rule: 'second-rule' });
      expect((await interact(press(d2.id, 'approve', 'U0MALLORY'))).body.text).toBe('You (U0MALLORY) are not an approver for rollback-guard: ask to be added under notifications.approvers.');
      expect(world.store.db.prepare(`SELECT count(*) AS n FROM approvals`).get()).toEqual({ n: 1 });
    });

    it('with approvalLevel 2, tells an on-call approver the button needs the tech lead, and records the tech lead by their listed name', async () => {
      world.ruleset = pagingRuleset(PAGING_RULES.replace('  approvers: { U0ALICE: alice }', '  approvalLevel: 2\n  approvers: { U0ALICE: { name: alice, level: 1 }, U0BOB: { name: Bob, level: 2 } }'));
      const d = decision(world, T0 + 10 * 60_000);
      expect((await interact(press(d.id, 'approve'))).body).toEqual({
        response_type: 'ephemeral', replace_original: false,
        text: `decision ${d.id} not approved: alice is listed at level 1 (on-call engineer); considered rollbacks need approval at level 2 (tech lead) or higher (notifications.approvalLevel)`,
      });
      expect(world.store.db.prepare(`SELECT count(*) AS n FROM approvals`).get()).toEqual({ n: 0 });
      expect((await interact(press(d.id, 'approve', 'U0BOB'))).body.text).toBe(`Recorded: decision ${d.id} approved by Bob.`);
      await service.idle();
      expect(acted).toEqual([d.id]);
    });
  });
});
