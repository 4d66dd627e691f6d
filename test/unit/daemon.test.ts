// The daemon's behaviour over simulated time: the bundled bad release played through the live tick loop with
// test doubles for the cluster-facing ports, the real SQLite decision log and the real engine.
import { shippedRules } from '../helpers/shipped-rules.js';
import fs from 'node:fs';
import { describe, expect, it } from 'vitest';
import { SqliteActionJournal } from '../../src/adapters/sqlite/sqlite-action-journal.js';
import { openDecisionLog } from '../../src/adapters/sqlite/sqlite-decision-store.js';
import { parseRules } from '../../src/core/parse-rules.js';
import type { QueryOutcome } from '../../src/core/query-outcome.js';
import type { GuardEvent } from '../../src/daemon/guard-events.js';
import type { MetricSource } from '../../src/ports/metric-source.js';
import { decisions, logFile, RECORDING, release, restart, runUntil, setup, STEP, T0 } from '../helpers/daemon-harness.js';

describe('daemon: the live loop decides what replay decides', () => {
  it('reverts the bundled bad release once, at 14:33:45, after paging the TTFA regression', async () => {
    const s = setup();
    await s.daemon.start();
    await s.releases.emit(release());
    await runUntil(s, T0 + 3600_000);
    expect(s.actuator.calls).toHaveLength(1);
    expect(s.actuator.calls[0]).toMatchObject({ namespace: 'voice-production', deployment: 'voice-server', by: 'rollback-guard', dryRun: false, reason: expect.stringMatching(/^error-rate-critical: 0.07/) });
    const kinds = s.events.map((e) => (e.kind === 'decision' ? `decision:${e.decision.action}` : e.kind));
    expect(kinds).toEqual(['release-started', 'decision:page', 'decision:rollback', 'rollback-started', 'rollback-finished', 'recovery-judged']);
    const finished = s.events.find((e) => e.kind === 'rollback-finished') as Extract<GuardEvent, { kind: 'rollback-finished' }>;
    expect(finished.verification?.kind).toBe('complete');
    expect(new Date(finished.decision.at).toISOString()).toBe('2026-11-20T14:33:45.000Z');
    expect(s.daemon.status().activeReleases).toEqual([]);
    expect(await s.metrics.registry.getSingleMetricAsString('rollback_guard_rollbacks_total')).toContain('outcome="rolled-back"} 1');
  });

  it('recovery (5.3): the recording keeps breaching after the rollback, so 10 minutes on it is judged not recovered', async () => {
    const s = setup();
    await s.daemon.start();
    await s.releases.emit(release());
    await runUntil(s, T0 + 3600_000);
    const judged = s.events.find((e) => e.kind === 'recovery-judged') as Extract<GuardEvent, { kind: 'recovery-judged' }>;
    expect(judged.outcome).toBe('not-recovered');
    expect(judged.at - judged.since).toBe(10 * 60_000);
    expect(judged.readings.find((r) => r.rule === 'error-rate-critical')).toMatchObject({ verdict: 'breach' });
  });

  it('recovery (5.3): healthy after the rollback is confirmed at the first tick every immediate rule passes, and recorded on the rollback', async () => {
    const rolledBackAt = Date.parse('2026-11-20T14:33:45Z');
    // After the rollback the service reads as it did 10 minutes into the release, before the trouble.
    const healed: MetricSource = { instant: (q, at) => RECORDING.instant(q, at > rolledBackAt ? T0 + 10 * 60_000 : at) };
    const store = openDecisionLog(logFile('recovery.db'));
    const s = setup({ source: healed, store, journal: store });
    await s.daemon.start();
    await s.releases.emit(release());
    await runUntil(s, T0 + 3600_000);
    const judged = s.events.filter((e): e is Extract<GuardEvent, { kind: 'recovery-judged' }> => e.kind === 'recovery-judged');
    expect(judged.map((j) => [j.outcome, new Date(j.at).toISOString()])).toEqual([['recovered', '2026-11-20T14:34:00.000Z']]);
    const row = store.db.prepare(`SELECT recovery, recovery_at FROM rollbacks`).get();
    expect(row).toEqual({ recovery: 'recovered', recovery_at: '2026-11-20T14:34:00.000Z' });
  });

  it('recovery: a check ended by a new revision is not revived by a restart; a verdict is never recorded twice', async () => {
    const file = logFile('recovery-ended.db');
    const store = openDecisionLog(file);
    const a = setup({ store, journal: store });
    await a.daemon.start();
    await a.releases.emit(release());
    await runUntil(a, Date.parse('2026-11-20T14:35:00Z'));
    await a.releases.emit({ ...release(a.clock.t), revision: '9' });
    store.close();
    const { b, again } = await restart(file, a);
    await b.releases.emit({ ...release(a.clock.t, true), revision: '9' }); // the new revision, adopted
    await runUntil(b, Date.parse('2026-11-20T14:50:00Z'));
    const first = b.events.find((e): e is Extract<GuardEvent, { kind: 'rollback-finished' }> => e.kind === 'rollback-finished')?.decision.id;
    expect(b.events.filter((e) => e.kind === 'recovery-judged' && e.decision.id !== first)).toEqual([]);
    const journal = new SqliteActionJournal(again.db);
    const id = again.db.prepare(`SELECT id FROM rollbacks ORDER BY id LIMIT 1`).pluck().get() as number;
    expect(journal.recoveryJudged(id, 'recovered', [], T0)).toBe(true);
    expect(journal.recoveryJudged(id, 'not-recovered', [], T0)).toBe(false);
    expect(again.db.prepare(`SELECT recovery FROM rollbacks WHERE id = ?`).pluck().get(id)).toBe('recovered');
  });

  it('recovery: a restart during the check resumes it from the decision log and records the verdict once', async () => {
    const file = logFile('recovery-restart.db');
    const store = openDecisionLog(file);
    const a = setup({ store, journal: store });
    await a.daemon.start();
    await a.releases.emit(release());
    await runUntil(a, Date.parse('2026-11-20T14:36:00Z')); // rolled back at 14:33:45; judging until 14:43:45
    expect(a.events.some((e) => e.kind === 'recovery-judged')).toBe(false);
    store.close();

    const { b, again } = await restart(file, a);
    await runUntil(b, T0 + 3600_000);
    const judged = b.events.filter((e): e is Extract<GuardEvent, { kind: 'recovery-judged' }> => e.kind === 'recovery-judged');
    expect(judged.map((j) => [j.outcome, new Date(j.at).toISOString()])).toEqual([['not-recovered', '2026-11-20T14:43:45.000Z']]);
    expect(again.db.prepare(`SELECT recovery FROM rollbacks`).pluck().all()).toEqual(['not-recovered']);
  });

  it('recovery: `recovery: 0s` checks nothing; a new revision during the check ends it without a verdict', async () => {
    const off = setup();
    off.deps.rulesets = [parseRules(fs.readFileSync('rules/voice-server.yaml', 'utf8').replace(/^interval: 15s$/m, 'interval: 15s\nrecovery: 0s'), 'r.yaml')];
    off.daemon.setRulesets(off.deps.rulesets);
    await off.daemon.start();
    await off.releases.emit(release());
    await runUntil(off, T0 + 3600_000);
    await off.daemon.idle();
    expect(off.events.some((e) => e.kind === 'recovery-judged')).toBe(false);
    // ROLLBACK_COMPLETE is told no verdict follows (with a check, that one follows: see the test above).
    const finished = (h: typeof off) => h.events.flatMap((e) => (e.kind === 'rollback-finished' ? [e.recoveryChecked] : []));
    expect(finished(off)).toEqual([false]);

    // Healthy from the new revision on: had the old check survived it, it would be judged recovered.
    let healthy = false;
    const s = setup({ source: { instant: (q, at) => RECORDING.instant(q, healthy ? T0 + 10 * 60_000 : at) } });
    await s.daemon.start();
    await s.releases.emit(release());
    await runUntil(s, Date.parse('2026-11-20T14:35:00Z'));
    expect(s.events.some((e) => e.kind === 'rollback-finished')).toBe(true);
    expect(finished(s)).toEqual([true]);
    await s.releases.emit({ ...release(s.clock.t), revision: '9' });
    healthy = true;
    await runUntil(s, T0 + 3600_000);
    expect(s.events.filter((e) => e.kind === 'recovery-judged')).toEqual([]);
  });

  it('dry run: decides and asks the actuator for a dry run only', async () => {
    const s = setup({ dryRun: true });
    await s.daemon.start();
    await s.releases.emit(release());
    await runUntil(s, T0 + 3600_000);
    expect(s.actuator.calls.map((c) => c.dryRun)).toEqual([true]);
  });

  it('a replica that is not the leader evaluates nothing and acts on nothing', async () => {
    const s = setup({ leader: false });
    await s.daemon.start();
    await s.releases.emit(release());
    await runUntil(s, T0 + 3600_000);
    expect(s.actuator.calls).toEqual([]);
    expect(s.daemon.status().ticks).toBe(0);
  });

  it('restart mid-release: the next daemon resumes the hold clocks and open page from the decision log, and pages nothing twice', async () => {
    const file = logFile('restart.db');
    const a = setup({ store: openDecisionLog(file) });
    await a.daemon.start();
    await a.releases.emit(release());
    await runUntil(a, T0 + 30 * 60_000); // the TTFA page is open, error-rate-sustained is pending
    expect(a.events.filter((e) => e.kind === 'decision').map((e) => (e as { decision: { action: string } }).decision.action)).toEqual(['page']);
    a.deps.store.close();

    const b = setup({ store: openDecisionLog(file) });
    b.clock.t = a.clock.t;
    await b.daemon.start();
    await b.releases.emit(release(T0, true)); // the watcher re-reports the release on adoption: not a new one
    await runUntil(b, T0 + 3600_000);
    const decisions = b.events.filter((e) => e.kind === 'decision').map((e) => (e as { decision: { action: string; rule: string } }).decision);
    expect(decisions.map((d) => [d.action, d.rule])).toEqual([['rollback', 'error-rate-critical']]); // no second page
    expect(b.events.some((e) => e.kind === 'release-started')).toBe(false);
    expect(b.actuator.calls).toHaveLength(1);
  });

  it('a newer release supersedes the one being guarded', async () => {
    const s = setup();
    await s.daemon.start();
    await s.releases.emit(release());
    await runUntil(s, T0 + 5 * 60_000);
    await s.releases.emit({ ...release(s.clock.t), revision: '8' });
    const open = s.deps.store.openReleases();
    expect(open).toHaveLength(1);
    expect(open[0]!.startedAt).toBe(s.clock.t);
  });

  it('a newer revision found already past its own window still ends the release guarded so far (regression)', async () => {
    const s = setup();
    await s.daemon.start();
    await s.releases.emit(release());
    await runUntil(s, T0 + 5 * 60_000);
    // E.g. found by a re-read after the watch was down: started two hours ago, so not guarded itself.
    await s.releases.emit({ ...release(s.clock.t - 2 * 3600_000, true), revision: '8' });
    expect(s.deps.store.openReleases()).toEqual([]);
    expect(s.daemon.status().activeReleases).toEqual([]);
    await runUntil(s, T0 + 3600_000); // the old release's 7 % errors would have reverted revision 8
    expect(s.actuator.calls).toEqual([]);
  });

  it('after a restart, an adopted revision other than the one the decision log guards supersedes it; the same one resumes', async () => {
    const file = logFile('adopt.db');
    const store = openDecisionLog(file);
    const a = setup({ store, journal: store });
    await a.daemon.start();
    await a.releases.emit(release());
    await runUntil(a, T0 + 5 * 60_000);
    store.close();

    const { b, again } = await restart(file, a);
    await b.releases.emit(release(T0, true));
    expect(again.openReleases().map((r) => r.revision)).toEqual(['7']); // the same revision: resumed
    await b.releases.emit({ ...release(b.clock.t, true), revision: '8' });
    expect(again.db.prepare(`SELECT revision, outcome FROM releases ORDER BY id`).all()).toEqual([
      { revision: '7', outcome: 'superseded' },
      { revision: '8', outcome: null },
    ]);
  });

  it('two releases reported at once are handled in order: the second supersedes the first (regression)', async () => {
    const s = setup();
    await s.daemon.start();
    await Promise.all([s.releases.emit(release()), s.releases.emit({ ...release(T0 + 1000), revision: '8' })]);
    const open = s.deps.store.openReleases();
    expect(open.map((r) => r.startedAt)).toEqual([T0 + 1000]);
    expect(s.daemon.status().activeReleases).toHaveLength(1);
  });

  it('a release superseded while a tick of it is in flight stays superseded, and that tick acts on nothing (regression)', async () => {
    let hold = false;
    const waiting: (() => void)[] = [];
    const slow: MetricSource = {
      instant: (q, at) => (hold ? new Promise<QueryOutcome>((r) => waiting.push(() => void RECORDING.instant(q, at).then(r))) : RECORDING.instant(q, at)),
    };
    const store = openDecisionLog(logFile('race.db'));
    const s = setup({ source: slow, store });
    await s.daemon.start();
    await s.releases.emit(release(T0 + 33 * 60_000)); // its first tick would decide a rollback (7 % errors)
    s.clock.t = T0 + 34 * 60_000;
    hold = true;
    const inFlight = s.daemon.tick(s.clock.t);
    hold = false;
    await s.releases.emit({ ...release(s.clock.t), revision: '8' });
    for (const w of waiting.splice(0)) w();
    await inFlight;
    const rows = store.db.prepare(`SELECT outcome FROM releases ORDER BY id`).pluck().all();
    expect(rows).toEqual(['superseded', null]);
    expect(s.actuator.calls).toEqual([]);
    expect(s.daemon.status().activeReleases).toHaveLength(1);
  });

  it('blind: errors for 2 minutes page "guard blind" once, never revert, and recovery is announced', async () => {
    let down = false;
    const flaky: MetricSource = { instant: (q, at): Promise<QueryOutcome> => (down ? Promise.resolve({ kind: 'error', error: 'RG_PROM_UNREACHABLE: cannot connect: ECONNREFUSED' }) : RECORDING.instant(q, at)) };
    const s = setup({ source: flaky });
    await s.daemon.start();
    await s.releases.emit(release());
    await runUntil(s, T0 + 10 * 60_000);
    down = true;
    await runUntil(s, T0 + 16 * 60_000);
    expect(s.events.filter((e) => e.kind === 'guard-blind')).toHaveLength(1);
    expect(s.daemon.status().blindSince).toBe('2026-11-20T14:10:15Z');
    down = false;
    await runUntil(s, T0 + 17 * 60_000);
    expect(s.events.filter((e) => e.kind === 'guard-sighted')).toHaveLength(1);
    expect(s.actuator.calls).toEqual([]);
    expect(s.daemon.status().blindSince).toBeNull();
  });

  it('ticks never overlap: a tick that starts while one runs is skipped and counted', async () => {
    let hold = false;
    const waiting: (() => void)[] = [];
    const slow: MetricSource = {
      instant: (q, at) => (hold ? new Promise<QueryOutcome>((r) => waiting.push(() => void RECORDING.instant(q, at).then(r))) : RECORDING.instant(q, at)),
    };
    const s = setup({ source: slow });
    await s.daemon.start();
    await s.releases.emit(release());
    hold = true;
    const first = s.daemon.tick(T0);
    await s.daemon.tick(T0 + STEP); // while the first waits on Prometheus
    expect(await s.metrics.registry.getSingleMetricAsString('rollback_guard_tick_overruns_total')).toMatch(/ 1$/m);
    hold = false;
    for (const w of waiting.splice(0)) w();
    await first;
    expect(s.daemon.status().ticks).toBe(1);
  });

  it('hot reload: new rules apply from the next tick and keep the states of rules that stay', async () => {
    const s = setup();
    await s.daemon.start();
    await s.releases.emit(release());
    await runUntil(s, T0 + 29 * 60_000);
    const stricter = parseRules(fs.readFileSync('rules/voice-server.yaml', 'utf8').replace('above: 0.05', 'above: 0.02'), 'rules/voice-server.yaml');
    s.daemon.setRulesets([stricter]);
    await runUntil(s, T0 + 3600_000);
    const rollback = s.events.find((e) => e.kind === 'decision' && e.decision.action === 'rollback') as Extract<GuardEvent, { kind: 'decision' }>;
    expect(rollback.decision.threshold).toBe(0.02);
    expect(rollback.decision.evidence.rulesHash).toBe(stricter.hash);
    expect(rollback.decision.at).toBeLessThan(Date.parse('2026-11-20T14:33:45Z'));
  });

  it('a manual immediate trigger (critical vulnerability) reverts at once, logged with who and why', async () => {
    const s = setup();
    await s.daemon.start();
    await s.releases.emit(release());
    await runUntil(s, T0 + 2 * 60_000);
    const d = await s.daemon.trigger({ namespace: 'voice-production', deployment: 'voice-server', tier: 'immediate', reason: 'CVE-2026-1234 in the audio codec', by: 'alice' });
    expect(d).toMatchObject({ action: 'rollback', tier: 'immediate', rule: null });
    expect(d.evidence.note).toBe('manual trigger by alice: CVE-2026-1234 in the audio codec');
    expect(s.actuator.calls).toMatchObject([{ decisionId: d.id, reason: 'manual trigger by alice: CVE-2026-1234 in the audio codec' }]);
  });
});

describe('daemon: rollouts are verified in the background', () => {
  it("one target's slow rollout (verified for up to 5 minutes) holds up no other target's rollback", async () => {
    const two = parseRules(
      shippedRules('voice-server', 'voice-gateway'),
      'two.yaml',
    );
    // voice-gateway misbehaves exactly as voice-server does: its queries are answered from voice-server's recording.
    const source: MetricSource = { instant: (q, at) => RECORDING.instant(q.replaceAll('deployment="voice-gateway"', 'deployment="voice-server"'), at) };
    const s = setup({ rulesets: [two], source });
    const rollouts: (() => void)[] = [];
    s.actuator.verify = () => new Promise((r) => rollouts.push(() => r({ kind: 'complete', detail: '3/3 updated and available' })));
    const calledAt: string[] = [];
    s.actuator.impl = (req) => {
      calledAt.push(`${req.deployment} @ ${new Date(s.clock.t).toISOString().slice(11, 19)}`);
      return Promise.resolve({ kind: 'rolled-back', fromRevision: '7', toRevision: '6', images: ['voice-server:1.4.1'] });
    };
    await s.daemon.start();
    await s.releases.emit(release());
    await s.releases.emit({ ...release(), deployment: 'voice-gateway' });
    await runUntil(s, Date.parse('2026-11-20T14:38:45Z')); // both rollouts still in progress throughout
    expect(calledAt).toEqual(['voice-server @ 14:33:45', 'voice-gateway @ 14:33:45']);
    expect(await s.metrics.registry.getSingleMetricAsString('rollback_guard_tick_overruns_total')).toMatch(/ 0$/);
    // Announced as complete only once verified; the recovery check starts then.
    expect(s.events.filter((e) => e.kind === 'rollback-finished')).toEqual([]);
    for (const done of rollouts) done();
    await s.daemon.idle();
    expect(s.events.filter((e) => e.kind === 'rollback-finished').map((e) => e.kind === 'rollback-finished' && e.verification?.kind)).toEqual(['complete', 'complete']);
    await runUntil(s, Date.parse('2026-11-20T14:50:00Z'));
    expect(s.events.filter((e) => e.kind === 'recovery-judged')).toHaveLength(2);
  });
});

describe('daemon: a reload that removes a rule with an open page', () => {
  it('resolves the page at the next tick (with why), so no incident or Approve button stays open; also after a restart', async () => {
    let calm = false;
    const source: MetricSource = { instant: (q, at) => RECORDING.instant(q, calm ? T0 + 5 * 60_000 : at) };
    const s = setup({ source });
    await s.daemon.start();
    await s.releases.emit(release());
    await runUntil(s, Date.parse('2026-11-20T14:30:00Z'));
    expect(decisions(s)).toEqual(['14:28:15 page ttfa-regression']);
    const renamed = parseRules(fs.readFileSync('rules/voice-server.yaml', 'utf8').replace('name: ttfa-regression\n', 'name: ttfa-regression-50pct\n'), 'rules/voice-server.yaml');
    s.daemon.setRulesets([renamed]);
    calm = true;
    await runUntil(s, T0 + 3600_000);
    expect(decisions(s)).toEqual(['14:28:15 page ttfa-regression', '14:30:15 resolve ttfa-regression', '15:00:00 promote -']);
    const resolved = s.events.find((e) => e.kind === 'decision' && e.decision.action === 'resolve') as Extract<GuardEvent, { kind: 'decision' }>;
    expect(resolved.decision).toMatchObject({ tier: 'considered', level: 1, mode: 'enforce', value: null, evidence: { note: 'ttfa-regression is no longer in the rules file (removed or renamed by a reload): its page is closed', rulesHash: renamed.hash } });

    // The same when the rules file changed while the daemon was down: resumed, the orphaned page is resolved.
    const downFile = logFile('restart.db');
    const downStore = openDecisionLog(downFile);
    const a = setup({ store: downStore, journal: downStore });
    await a.daemon.start();
    await a.releases.emit(release());
    await runUntil(a, Date.parse('2026-11-20T14:30:00Z'));
    downStore.close();
    const { b, again: reopened } = await restart(downFile, a, { rulesets: [renamed] });
    await b.daemon.tick(b.clock.t);
    expect(reopened.db.prepare(`SELECT action, rule FROM decisions WHERE action = 'resolve'`).all()).toEqual([{ action: 'resolve', rule: 'ttfa-regression' }]);
  });
});
