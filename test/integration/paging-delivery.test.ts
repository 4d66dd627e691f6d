// The outbox worker delivering through the real pdjs and WebClient to loopback stand-ins: success, retries on
// 429 / 5xx / connection refused, permanent errors marked dead with the other channel's fallback.
import fs from 'node:fs';
import path from 'node:path';
import { beforeEach, describe, expect, it } from 'vitest';
import type { Decision } from '../../src/core/engine.js';
import { planNotifications } from '../../src/core/notification-plan.js';
import { DeliveryWorker } from '../../src/guard/delivery-worker.js';
import type { PagerDutyStandIn } from '../helpers/pagerduty-stand-in.js';
import { waitFor } from '../helpers/free-port.js';
import { notifiers, usePagingStandIns, ROUTING_KEYS, T0, type PagingWorld } from '../helpers/paging-fixture.js';
import type { SlackStandIn } from '../helpers/slack-stand-in.js';

const standIns = usePagingStandIns();

function pageDecision(world: PagingWorld, at = T0 + 10 * 60_000): Decision & { id: number } {
  const d: Decision = {
    at, action: 'page', tier: 'considered', rule: 'ttfa-regression', level: 1, value: 0.7747, threshold: 0.6, mode: 'enforce',
    evidence: { rule: 'ttfa-regression', tier: 'considered', query: 'ttfa_p95', comparison: 'above', value: 0.7747, threshold: 0.6, forMs: 300_000, breachingSince: at - 300_000, release: { startedAt: T0, severity: 'minor', windowEnd: T0 + 3_600_000 }, rulesHash: world.ruleset.hash },
  };
  const [stored] = world.store.recordInstant(world.release.id, at, { rules: {} }, [], [d]);
  return stored!;
}

describe('outbox delivery through pdjs and WebClient', () => {
  let pd: PagerDutyStandIn;
  let slack: SlackStandIn;
  let world: PagingWorld;
  let now: number;
  let worker: DeliveryWorker;

  beforeEach(() => {
    ({ pd, slack, world } = standIns());
    now = T0 + 10 * 60_000;
    worker = new DeliveryWorker({ outbox: world.outbox, notifiers: notifiers(pd, slack, world.ruleset.notifications), settings: () => world.ruleset.notifications, now: () => now, initialBackoffMs: 1000 });
  });

  const enqueuePage = () => {
    const d = pageDecision(world, now);
    world.outbox.enqueue(planNotifications(world.ruleset.notifications, world.release, { kind: 'decision', decision: d }), world.release.id, now);
    return d;
  };

  it('delivers a page: a PagerDuty trigger with the dedup key and evidence, a Slack message with Approve / Decline', async () => {
    const d = enqueuePage();
    expect(await worker.runOnce(now)).toEqual({ delivered: 2, retried: 0, dead: 0 });
    expect(pd.accepted).toHaveLength(1);
    const ev = pd.accepted[0]!;
    expect(ev).toMatchObject({ event_action: 'trigger', routing_key: 'R0ONCALL00000000000000000000000A', dedup_key: `rollback-guard/voice-production/voice-server/release-${world.release.id}/ttfa-regression` });
    expect(ev.payload).toMatchObject({ severity: 'warning', source: 'voice-production/voice-server' });
    expect(ev.payload!.custom_details).toMatchObject({ decision_id: d.id, show: `rollback-guard explain ${d.id}`, value: 0.7747, threshold: 0.6 });
    expect(slack.messages).toHaveLength(1);
    const msg = slack.messages[0]!;
    expect(msg.channel).toBe('C0INCIDENTS');
    expect(msg.text).toContain(':warning: [Voice System] Issue Detected');
    expect(msg.text).toContain('Version: v2.14.0');
    expect(msg.text).toContain('ttfa-regression = 0.7747 > 0.6 (held 5m)');
    expect(msg.text).toContain('On-call: <!subteam^S0ONCALL>');
    expect(JSON.stringify(msg.blocks)).toContain('"action_id":"approve"');
    expect(world.outbox.health()).toEqual({ depth: 0, dead: 0, unreported: 0 });
    // Planning the same decision again stores nothing new: nothing is sent twice.
    expect(world.outbox.enqueue(planNotifications(world.ruleset.notifications, world.release, { kind: 'decision', decision: d }), world.release.id, now)).toBe(0);
    expect(await worker.runOnce(now)).toEqual({ delivered: 0, retried: 0, dead: 0 });
  });

  it('a delivery the decision log cannot record (read-only) is recorded later, never sent again (issue 19)', async () => {
    enqueuePage();
    // The log turns read-only after the page was queued: SQLite refuses every write (SQLITE_READONLY).
    world.store.db.pragma('query_only = ON');
    await expect(worker.runOnce(now)).rejects.toThrow(/readonly|read-only/i);
    expect(pd.accepted.length + slack.messages.length).toBe(1); // the first was sent; the pass stopped there
    now += 60_000;
    await expect(worker.runOnce(now)).rejects.toThrow(/readonly|read-only/i);
    expect(pd.accepted.length + slack.messages.length).toBe(1); // not sent again while unrecorded
    world.store.db.pragma('query_only = OFF');
    expect(await worker.runOnce(now)).toEqual({ delivered: 1, retried: 0, dead: 0 });
    expect([pd.accepted.length, slack.messages.length]).toEqual([1, 1]);
    expect(world.outbox.health()).toEqual({ depth: 0, dead: 0, unreported: 0 });
  });

  it('retries PagerDuty 429 no sooner than Retry-After, and 5xx with backoff, then delivers', async () => {
    // pdjs retries a 429 three times by itself; the fourth 429 reaches the worker.
    pd.failNext({ status: 429, retryAfter: 30 }, { status: 429, retryAfter: 30 }, { status: 429, retryAfter: 30 }, { status: 429, retryAfter: 30 });
    enqueuePage();
    expect(await worker.runOnce(now)).toMatchObject({ delivered: 1, retried: 1 });
    expect(world.outbox.health().depth).toBe(1);
    now += 29_000;
    expect(await worker.runOnce(now)).toMatchObject({ delivered: 0, retried: 0 });
    now += 1_000;
    pd.failNext({ status: 503 });
    expect(await worker.runOnce(now)).toMatchObject({ retried: 1 });
    now += 4_000; // backoff after the second failure: 1 s x 2^2
    expect(await worker.runOnce(now)).toMatchObject({ delivered: 1 });
    expect(pd.accepted).toHaveLength(1);
    expect(world.outbox.health().depth).toBe(0);
  });

  it('keeps a trigger while PagerDuty is down, and delivers it once it is back', async () => {
    const port = pd.port;
    await pd.stop();
    enqueuePage();
    expect(await worker.runOnce(now)).toMatchObject({ delivered: 1, retried: 1 });
    const pending = world.outbox.due(now + 3_600_000, 10);
    expect(pending[0]!.lastError).toMatch(/PagerDuty 127\.0\.0\.1:\d+ unreachable: ECONNREFUSED/);
    await pd.start(port);
    now += 1_000;
    expect(await worker.runOnce(now)).toMatchObject({ delivered: 1 });
    expect(pd.accepted).toHaveLength(1);
    expect(pd.incidents.size).toBe(1);
  });

  it('marks a 400 invalid event dead with the reason, and says so in Slack', async () => {
    const settings = { ...world.ruleset.notifications, levels: world.ruleset.notifications.levels.map((l) => (l.level === 1 ? { ...l, pagerduty: 'BROKEN' } : l)) };
    worker = new DeliveryWorker({ outbox: world.outbox, notifiers: notifiers(pd, slack, settings), settings: () => settings, now: () => now });
    const d = pageDecision(world, now);
    world.outbox.enqueue(planNotifications(settings, world.release, { kind: 'decision', decision: d }), world.release.id, now);
    expect(await worker.runOnce(now)).toMatchObject({ delivered: 1, dead: 1 });
    const dead = world.store.db.prepare(`SELECT status, last_error FROM outbox WHERE channel = 'pagerduty'`).get() as { status: string; last_error: string };
    expect(dead).toEqual({ status: 'dead', last_error: "PagerDuty rejected the trigger event (400): Event object is invalid: 'routing_key' must be a 32 character string" });
    expect(await worker.runOnce(now)).toMatchObject({ delivered: 1 });
    expect(slack.messages.at(-1)!.text).toContain(':sos: A PagerDuty trigger could not be delivered (routing key BROKEN)');
    expect(world.outbox.health()).toEqual({ depth: 0, dead: 1, unreported: 0 });
  });

  it('marks Slack channel_not_found dead and pages through PagerDuty instead; both dead shows in health', async () => {
    slack.channels.delete('#voice-incidents');
    enqueuePage();
    expect(await worker.runOnce(now)).toMatchObject({ delivered: 1, dead: 1 });
    expect(await worker.runOnce(now)).toMatchObject({ delivered: 1 });
    const fallback = pd.accepted.at(-1)!;
    expect(fallback.payload!.summary).toMatch(/^Slack message to #voice-incidents could not be delivered \(Slack chat.postMessage to #voice-incidents: channel_not_found\)/);
    expect(world.outbox.health()).toEqual({ depth: 0, dead: 1, unreported: 0 });

    // Now both channels are broken: a Slack message dies, and its PagerDuty fallback dies too.
    await pd.stop();
    const n = planNotifications(world.ruleset.notifications, world.release, { kind: 'guard-blind', at: now, detail: 'Prometheus unreachable' }).filter((x) => x.channel === 'slack');
    world.outbox.enqueue(n, world.release.id, now);
    expect(await worker.runOnce(now)).toMatchObject({ dead: 1 });
    worker = new DeliveryWorker({ outbox: world.outbox, notifiers: { slack: notifiers(pd, slack, world.ruleset.notifications).slack }, settings: () => world.ruleset.notifications, now: () => now });
    expect(await worker.runOnce(now)).toMatchObject({ dead: 1 }); // no PagerDuty notifier: the fallback dies
    expect(world.outbox.health()).toEqual({ depth: 0, dead: 3, unreported: 1 });
  });

  it('honours Slack ratelimited (429 Retry-After), and updates the posted message by its stored ts', async () => {
    slack.failNext({ status: 429, retryAfter: 20 });
    const d = enqueuePage();
    expect(await worker.runOnce(now)).toMatchObject({ delivered: 1, retried: 1 });
    now += 19_000;
    expect(await worker.runOnce(now)).toMatchObject({ delivered: 0 });
    now += 1_000;
    expect(await worker.runOnce(now)).toMatchObject({ delivered: 1 });
    const ts = (world.store.db.prepare(`SELECT slack_ts FROM outbox WHERE channel = 'slack'`).get() as { slack_ts: string }).slack_ts;
    expect(ts).toBe(slack.messages[0]!.ts);
    world.outbox.enqueue(planNotifications(world.ruleset.notifications, world.release, { kind: 'approval', at: now, decision: d, verdict: 'declined', by: 'alice', reason: 'known load test' }), world.release.id, now);
    expect(await worker.runOnce(now)).toMatchObject({ delivered: 2 });
    expect(slack.messages).toHaveLength(1);
    expect(slack.messages[0]!.updates).toBe(1);
    expect(slack.messages[0]!.text).toContain('Rollback declined by alice at 2026-11-20T14:10:20Z: known load test');
    expect(JSON.stringify(slack.messages[0]!.blocks)).not.toContain('action_id');
    expect(pd.accepted.at(-1)).toMatchObject({ event_action: 'acknowledge', dedup_key: pd.accepted[0]!.dedup_key });
  });

  it('gives up on an update whose message could not be posted, without a second fallback', async () => {
    slack.channels.delete('#voice-incidents');
    const d = enqueuePage();
    world.outbox.enqueue(planNotifications(world.ruleset.notifications, world.release, { kind: 'approval', at: now, decision: d, verdict: 'approved', by: 'alice' }), world.release.id, now);
    await worker.runOnce(now);
    await worker.runOnce(now);
    const rows = world.store.db.prepare(`SELECT channel, action, status, last_error FROM outbox ORDER BY id`).all();
    expect(rows).toEqual([
      { channel: 'slack', action: 'post', status: 'dead', last_error: 'Slack chat.postMessage to #voice-incidents: channel_not_found' },
      { channel: 'pagerduty', action: 'trigger', status: 'delivered', last_error: null },
      { channel: 'slack', action: 'update', status: 'dead', last_error: "the message it updates could not be posted (see that notification's error)" },
      { channel: 'pagerduty', action: 'acknowledge', status: 'delivered', last_error: null },
      { channel: 'pagerduty', action: 'trigger', status: 'delivered', last_error: null }, // the dead post's fallback
    ]);
  });

  it('start() delivers in the background and stop() waits for the pass in flight', async () => {
    worker = new DeliveryWorker({ outbox: world.outbox, notifiers: notifiers(pd, slack, world.ruleset.notifications), settings: () => world.ruleset.notifications, now: () => now, pollMs: 20 });
    worker.start();
    enqueuePage();
    await waitFor('the page to be delivered', () => world.outbox.health().depth === 0 && pd.accepted.length === 1);
    await worker.stop();
    enqueuePage();
    await new Promise((r) => setTimeout(r, 100));
    expect(world.outbox.health().depth).toBe(2); // stopped: nothing more is sent
  });

  it('never writes a secret to the decision log', async () => {
    enqueuePage();
    await worker.runOnce(now);
    world.store.db.pragma('wal_checkpoint(TRUNCATE)');
    const bytes = fs.readFileSync(path.join(path.dirname(world.store.db.name), 'decisions.db'), 'latin1');
    expect(bytes).toContain('ONCALL'); // the routing key's name is there...
    for (const secret of [ROUTING_KEYS.ONCALL!, slack.token]) expect(bytes).not.toContain(secret); // ...its value is not
  });
});
