// What reached a release from outside its data (manual triggers, approvals, declines) and when its rollback rolled
// out, read back from the daemon's own decision log and given to replay: replay then decides what the daemon
// decided, off-grid times included. The daemon runs over simulated time on the bundled recording (daemon-harness).
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import type { MetricSource } from '../../src/ports/metric-source.js';
import { readRecordedRelease } from '../../src/adapters/sqlite/recorded-release.js';
import { openDecisionLog } from '../../src/adapters/sqlite/sqlite-decision-store.js';
import { firstInstant, gridStart } from '../../src/core/interval-grid.js';
import { replay } from '../../src/guard/replay.js';
import { logFile, RECORDING, release, RULES, setup, STEP, T0, type Harness } from '../helpers/daemon-harness.js';

const COLUMNS = `at, action, rule, level, value, threshold`;

/** Ticks on the grid up to `until`, then sets the clock to `until` itself (an off-grid moment for an input). */
async function runTo(s: Harness, until: number): Promise<void> {
  for (let t = firstInstant(s.clock.t, STEP); t <= until; t += STEP) {
    s.clock.t = t;
    await s.daemon.tick(t);
  }
  s.clock.t = until;
}

/** The daemon guards the bundled release from 14:00:07 (off the 15 s grid), with `act` at its moments. */
async function guarded(act: (s: Harness) => Promise<void>, source: MetricSource = RECORDING) {
  const file = logFile();
  const store = openDecisionLog(file);
  const s = setup({ store, journal: store, source });
  await s.daemon.start();
  s.clock.t = T0 + 7_000;
  await s.releases.emit(release(T0 + 7_000));
  await act(s);
  await s.daemon.idle();
  store.close();
  return file;
}

/** Replays the daemon's release from its log, and both logs' decisions (and the recovery verdicts) side by side. */
async function replayed(file: string, source: MetricSource = RECORDING) {
  const live = new Database(file, { readonly: true });
  const { id } = live.prepare(`SELECT id FROM releases WHERE source = 'live' ORDER BY id DESC LIMIT 1`).get() as { id: number };
  const recorded = readRecordedRelease(file, id);
  const out = openDecisionLog(logFile('replay.db'));
  const result = await replay({
    ruleset: RULES, release: recorded, source, store: out, sourceName: 'replay:recording', stepMs: STEP, until: recorded.lastAt!,
    inputs: recorded.inputs, rolloutAt: (d) => recorded.rollouts.find((r) => r.decision.at === d.at && r.decision.rule === d.rule)?.at,
  });
  const daemon = live.prepare(`SELECT ${COLUMNS} FROM decisions WHERE release_id = ? ORDER BY id`).all(id);
  const recovery = live.prepare(`SELECT recovery, recovery_at FROM rollbacks WHERE release_id = ?`).get(id) as { recovery: string; recovery_at: string } | undefined;
  const mine = out.db.prepare(`SELECT ${COLUMNS} FROM decisions WHERE release_id = ? ORDER BY id`).all(result.guard.stored.id);
  live.close();
  out.close();
  return { daemon, replay: mine, recovery, result, inputs: recorded.inputs };
}

describe('replay --from-log: manual triggers, approvals and declines at their recorded times', () => {
  it('the grid: the first multiple of the interval at or after the start, and where the data for it begins', () => {
    expect([T0, T0 + 1, T0 + 7_000, T0 + 15_000].map((t) => firstInstant(t, STEP) - T0)).toEqual([0, 15_000, 15_000, 15_000]);
    expect([T0, T0 + 1, T0 + 14_999].map((t) => gridStart(t, STEP) - T0)).toEqual([0, 0, 0]);
  });

  it('a considered trigger at 14:01:02.5 escalates on the ladder until declined at 14:20:03; the engine later pages and reverts', async () => {
    const file = await guarded(async (s) => {
      await runTo(s, T0 + 62_500);
      await s.daemon.trigger({ namespace: 'voice-production', deployment: 'voice-server', tier: 'considered', reason: 'user complaints increasing', by: 'alice' });
      await runTo(s, T0 + 20 * 60_000 + 3_000);
      const db = (s.deps.store as unknown as { db: Database.Database }).db;
      const page = db.prepare(`SELECT id FROM decisions WHERE rule IS NULL AND action = 'page'`).pluck().get() as number;
      db.prepare(`INSERT INTO approvals (decision_id, verdict, by, via, at) VALUES (?, 'declined', 'bob', 'api', ?)`).run(page, new Date(s.clock.t).toISOString());
      await runTo(s, T0 + 50 * 60_000);
    });
    const r = await replayed(file);
    expect(r.inputs.map((i) => i.kind)).toEqual(['trigger', 'approval']);
    expect(r.daemon.map((d) => (d as { action: string }).action)).toEqual(expect.arrayContaining(['page', 'escalate', 'rollback']));
    expect(r.replay).toEqual(r.daemon);
    expect({ outcome: r.result.recovery?.outcome, at: r.result.recovery && new Date(r.result.recovery.at).toISOString() }).toEqual({ outcome: r.recovery?.recovery, at: r.recovery?.recovery_at });
  });

  it("a decline of the engine's page: the page climbs no further, in the daemon and in the replay", async () => {
    // The bad release's data frozen at 14:31: ttfa-regression keeps firing, nothing reverts before the window ends.
    const frozen: MetricSource = { instant: (q, t) => RECORDING.instant(q, Math.min(t, T0 + 31 * 60_000)) };
    const file = await guarded(async (s) => {
      await runTo(s, T0 + 29 * 60_000);
      const db = (s.deps.store as unknown as { db: Database.Database }).db;
      const page = db.prepare(`SELECT id FROM decisions WHERE action = 'page' AND rule = 'ttfa-regression'`).pluck().get() as number;
      db.prepare(`INSERT INTO approvals (decision_id, verdict, by, via, at) VALUES (?, 'declined', 'lead', 'api', ?)`).run(page, new Date(s.clock.t + 1_234).toISOString());
      await runTo(s, T0 + 59 * 60_000);
    }, frozen);
    const r = await replayed(file, frozen);
    expect(r.inputs.map((i) => i.kind)).toEqual(['approval']);
    const ttfa = r.daemon.filter((d) => (d as { rule: string }).rule === 'ttfa-regression').map((d) => (d as { action: string }).action);
    expect(ttfa).toEqual(['page']);
    expect(r.replay).toEqual(r.daemon);
  });

  it('an immediate trigger at 14:01:32.3 reverts at once; the recovery check starts when the daemon saw the rollout', async () => {
    const file = await guarded(async (s) => {
      await runTo(s, T0 + 92_300);
      await s.daemon.trigger({ namespace: 'voice-production', deployment: 'voice-server', tier: 'immediate', reason: 'CVE-2026-1234', by: 'alice' });
      await runTo(s, T0 + 30 * 60_000);
    });
    const r = await replayed(file);
    expect(r.daemon).toEqual([{ at: '2026-11-20T14:01:32.300Z', action: 'rollback', rule: null, level: null, value: null, threshold: null }]);
    expect(r.replay).toEqual(r.daemon);
    expect(r.recovery?.recovery).toBeTruthy();
    expect({ outcome: r.result.recovery?.outcome, at: r.result.recovery && new Date(r.result.recovery.at).toISOString() }).toEqual({ outcome: r.recovery?.recovery, at: r.recovery?.recovery_at });
  });

  it("an approval of the engine's page, off the grid: the release ends there, as the daemon ended it", async () => {
    const file = await guarded(async (s) => {
      // The TTFA regression pages before the error rate reverts (14:33:45): approve that page a moment after it.
      const db = (s.deps.store as unknown as { db: Database.Database }).db;
      let page: number | undefined;
      for (let t = firstInstant(s.clock.t, STEP); page === undefined && t < T0 + 3600_000; t += STEP) {
        await runTo(s, t);
        page = db.prepare(`SELECT id FROM decisions WHERE action = 'page' AND rule IS NOT NULL`).pluck().get() as number | undefined;
      }
      s.clock.t += 4_321;
      db.prepare(`INSERT INTO approvals (decision_id, verdict, by, via, at) VALUES (?, 'approved', 'carol', 'api', ?)`).run(page!, new Date(s.clock.t).toISOString());
      await s.daemon.actOnApproval(page!);
      await runTo(s, T0 + 3600_000);
    });
    const r = await replayed(file);
    expect(r.inputs).toMatchObject([{ kind: 'approval', verdict: 'approved', by: 'carol' }]);
    expect(r.replay).toEqual(r.daemon);
    expect(r.result.guard.releaseState.outcome).toMatchObject({ kind: 'rolled-back', at: r.inputs[0]!.at });
    expect({ outcome: r.result.recovery?.outcome, at: r.result.recovery && new Date(r.result.recovery.at).toISOString() }).toEqual({ outcome: r.recovery?.recovery, at: r.recovery?.recovery_at });
  });
});
