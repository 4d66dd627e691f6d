// The escalation ladder over simulated time: the real engine, the decision log, the plan, the outbox and the
// worker, against the stand-ins, with an injected clock. Page at +5m, level 2 at +20m, level 3 at +35m, resolve;
// an immediate outage rule pages level 4; a failed rollback pages level 4.
import { beforeEach, describe, expect, it } from 'vitest';
import { initialState, step, type Observation, type ReleaseState } from '../../src/core/engine.js';
import { planNotifications } from '../../src/core/notification-plan.js';
import { DeliveryWorker } from '../../src/guard/delivery-worker.js';
import type { PagerDutyStandIn } from '../helpers/pagerduty-stand-in.js';
import { notifiers, usePagingStandIns, ROUTING_KEYS, T0, type PagingWorld } from '../helpers/paging-fixture.js';
import type { SlackStandIn } from '../helpers/slack-stand-in.js';

const standIns = usePagingStandIns();
const series = (v: number): Observation => ({ value: { kind: 'series', series: [{ labels: {}, value: v }] } });

describe('escalation ladder over simulated time', () => {
  let pd: PagerDutyStandIn;
  let slack: SlackStandIn;
  let world: PagingWorld;

  beforeEach(() => {
    ({ pd, slack, world } = standIns());
  });

  /** Ticks every 15 s from the release start to `untilS`, with metric values from `values(t)`. */
  async function drive(untilS: number, values: (t: number) => { ttfa: number; errors: number }) {
    let now = T0;
    const worker = new DeliveryWorker({ outbox: world.outbox, notifiers: notifiers(pd, slack, world.ruleset.notifications), settings: () => world.ruleset.notifications, now: () => now });
    const ctx = { ruleset: world.ruleset, release: { startedAt: T0, severity: 'minor' as const, windowMs: 3_600_000 }, baselines: {} };
    let state: ReleaseState = initialState(world.ruleset);
    const log: string[] = [];
    for (let t = 0; t <= untilS; t += 15) {
      now = T0 + t * 1000;
      const v = values(t);
      const res = step(ctx, state, now, new Map([['ttfa-regression', series(v.ttfa)], ['error-rate-critical', series(v.errors)]]));
      state = res.state;
      for (const d of world.store.recordInstant(world.release.id, now, state, res.evaluations, res.decisions)) {
        world.outbox.enqueue(planNotifications(world.ruleset.notifications, world.release, { kind: 'decision', decision: d }), world.release.id, now);
      }
      const before = pd.accepted.length;
      await worker.runOnce(now);
      for (const e of pd.accepted.slice(before)) log.push(`+${t / 60}m ${e.event_action} ${Object.entries(ROUTING_KEYS).find(([, k]) => k === e.routing_key)![0]}${e.payload ? ` ${e.payload.severity}` : ''}`);
    }
    return { log, state, worker, setNow: (t: number) => (now = t) };
  }

  it('pages level 1, escalates to 2 at +15m and 3 at +30m after the page, and resolves every level when the rule recovers', async () => {
    const { log } = await drive(50 * 60, (t) => ({ ttfa: t < 45 * 60 ? 0.8 : 0.5, errors: 0 }));
    expect(log).toEqual([
      '+5m trigger ONCALL warning',
      '+20m trigger TECHLEAD error',
      '+35m trigger MANAGER critical',
      '+45m resolve ONCALL',
      '+45m resolve TECHLEAD',
      '+45m resolve MANAGER',
    ]);
    const keys = new Set(pd.accepted.map((e) => e.dedup_key));
    expect(keys.size).toBe(1); // one incident per (release, rule), on each level's service
    expect([...pd.incidents.values()].map((i) => i.status)).toEqual(['resolved', 'resolved', 'resolved']);
    expect(slack.messages.map((m) => m.text.split('\n')[0])).toEqual([
      ':warning: [Voice System] Issue Detected',
      ':arrow_double_up: Escalated to level 2 <@U0TECHLEAD>: ttfa-regression = 0.8 > 0.6 (held 5m) still firing. Decision 2.',
      ':arrow_double_up: Escalated to level 3 <@U0MANAGER>: ttfa-regression = 0.8 > 0.6 (held 5m) still firing. Decision 3.',
    ]);
    expect(slack.messages[0]!.updates).toBe(1);
    expect(slack.messages[0]!.text).toContain(':large_green_circle: Resolved at 2026-11-20T14:45:00Z');
    expect(world.outbox.health()).toEqual({ depth: 0, dead: 0, unreported: 0 });
  });

  it('an immediate outage rule pages level 1 and the VP (level 4); a failed rollback pages level 4 again', async () => {
    const { log } = await drive(3 * 60, (t) => ({ ttfa: 0.5, errors: t >= 60 ? 0.2 : 0.001 }));
    expect(log).toEqual(['+1m trigger ONCALL critical', '+1m trigger VP critical']);
    expect(slack.messages[0]!.text).toContain(':rotating_light: [Voice System] Rollback Initiated');
    expect(slack.messages[0]!.text).toContain('Version: v2.14.0 -> v2.13.2');
    const rollback = world.store.db.prepare(`SELECT id FROM decisions WHERE action = 'rollback'`).get() as { id: number };
    const d = { id: rollback.id, at: T0 + 60_000, action: 'rollback' as const, tier: 'immediate' as const, rule: 'error-rate-critical', value: 0.2, threshold: 0.05, mode: 'enforce' as const, evidence: { value: 0.2, threshold: 0.05, release: { startedAt: T0, severity: 'minor', windowEnd: T0 + 3_600_000 }, rulesHash: world.ruleset.hash } };
    const at = T0 + 5 * 60_000;
    world.outbox.enqueue(planNotifications(world.ruleset.notifications, world.release, { kind: 'rollback-failed', at, decision: d, error: 'deployment voice-server has no previous revision' }), world.release.id, at);
    const worker = new DeliveryWorker({ outbox: world.outbox, notifiers: notifiers(pd, slack, world.ruleset.notifications), settings: () => world.ruleset.notifications, now: () => at });
    await worker.runOnce(at);
    expect(pd.accepted.slice(2).map((e) => [Object.entries(ROUTING_KEYS).find(([, k]) => k === e.routing_key)![0], e.payload?.severity])).toEqual([['ONCALL', 'critical'], ['VP', 'critical']]);
    expect(slack.messages.at(-1)!.text).toContain(':fire: [Voice System] Rollback FAILED');
    expect(slack.messages.at(-1)!.text).toContain('Escalated to: <!subteam^S0ONCALL> <@U0TECHLEAD> <@U0MANAGER> <@U0VP>');
  });
});
