// The daemon across restarts, takeovers and rollbacks it did not decide itself: each case is a wrong action (a
// second revert, a revert of a revision nobody judged, a rollback never carried out) or an unannounced one.
import type { V1Deployment, V1ReplicaSet } from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import { planRollback } from '../../src/adapters/kubernetes/rollback-plan.js';
import { SqliteActionJournal } from '../../src/adapters/sqlite/sqlite-action-journal.js';
import { openDecisionLog } from '../../src/adapters/sqlite/sqlite-decision-store.js';
import fs from 'node:fs';
import { parseRules } from '../../src/core/parse-rules.js';
import { replay } from '../../src/guard/replay.js';
import type { MetricSource } from '../../src/ports/metric-source.js';
import type { RollbackRequest, VerifyOutcome } from '../../src/ports/actuator.js';
import { SqliteOutbox } from '../../src/adapters/sqlite/sqlite-outbox.js';
import { ApprovalService } from '../../src/guard/approval-service.js';
import { decisions, logFile, RECORDING, release, restart, RULES, runUntil, setup, STEP, T0, type Harness } from '../helpers/daemon-harness.js';

const at = (hms: string) => Date.parse(`2026-11-20T${hms}Z`);
const uid = 'd-uid';
const tpl = (image: string) => ({ metadata: { labels: { app: 'voice-server' } }, spec: { containers: [{ name: 'voice-server', image }] } });
const rs = (revision: string, image: string, hash: string): V1ReplicaSet => ({
  metadata: { name: `voice-server-${hash}`, labels: { app: 'voice-server', 'pod-template-hash': hash }, annotations: { 'deployment.kubernetes.io/revision': revision }, ownerReferences: [{ apiVersion: 'apps/v1', kind: 'Deployment', name: 'voice-server', uid, controller: true }] },
  spec: { selector: { matchLabels: {} }, template: { ...tpl(image), metadata: { labels: { app: 'voice-server', 'pod-template-hash': hash } } } },
});
const deployment = (revision: string, image: string): V1Deployment => ({
  metadata: { name: 'voice-server', namespace: 'voice-production', uid, resourceVersion: '99', annotations: { 'deployment.kubernetes.io/revision': revision } },
  spec: { selector: { matchLabels: { app: 'voice-server' } }, template: tpl(image) },
});

/** The first daemon decides the rollback of revision 7 at 14:33:45 and is killed inside the patch. */
async function crashInsidePatch(file: string): Promise<Harness> {
  const store = openDecisionLog(file);
  const a = setup({ store, journal: store });
  a.actuator.impl = () => new Promise(() => {});
  await a.daemon.start();
  await a.releases.emit(release());
  await runUntil(a, at('14:33:30'));
  void a.daemon.tick(at('14:33:45'));
  await new Promise((r) => setTimeout(r, 50));
  expect(new SqliteActionJournal(store.db).unfinishedRollbacks(0)).toHaveLength(1);
  store.close();
  return a;
}

/** An actuator answering with the real rollback plan over a given cluster. */
function planOver(b: Harness, d: V1Deployment, replicaSets: V1ReplicaSet[]) {
  const plans: unknown[] = [];
  b.actuator.impl = (req: RollbackRequest) => {
    const plan = planRollback(d, replicaSets, req, { kind: 'undo' }, new Date(b.clock.t).toISOString());
    plans.push(plan.kind === 'patch' ? { kind: plan.kind, to: plan.toRevision, images: plan.images } : { kind: plan.kind });
    return Promise.resolve(plan.kind === 'patch' ? { kind: 'rolled-back', fromRevision: plan.fromRevision, toRevision: plan.toRevision, images: plan.images } : plan);
  };
  return plans;
}

describe('restart with a rollback decided but not carried out', () => {
  it('a hotfix shipped meanwhile (revision 8) is not reverted: the intent was for revision 7', async () => {
    const file = logFile();
    await crashInsidePatch(file);
    const again = openDecisionLog(file);
    const b = setup({ store: again, journal: again });
    b.clock.t = at('14:45:00');
    const plans = planOver(b, deployment('8', 'voice-server:1.5.1'), [rs('6', 'voice-server:1.4.1', 'aaa6'), rs('7', 'voice-server:1.5.0', 'bbb7'), rs('8', 'voice-server:1.5.1', 'ccc8')]);
    await b.daemon.start();
    expect(b.actuator.calls.map((c) => c.expectedRevision)).toEqual(['7']);
    expect(plans).toMatchObject([{ kind: 'refused' }]);
  });

  it('after a person ran `kubectl rollout undo` (1.4.1 is revision 8), the bad 1.5.0 is not deployed again', async () => {
    const file = logFile();
    await crashInsidePatch(file);
    const again = openDecisionLog(file);
    const b = setup({ store: again, journal: again });
    b.clock.t = at('14:45:00');
    const plans = planOver(b, deployment('8', 'voice-server:1.4.1'), [rs('7', 'voice-server:1.5.0', 'bbb7'), rs('8', 'voice-server:1.4.1', 'aaa6')]);
    await b.daemon.start();
    expect(plans).toMatchObject([{ kind: 'refused' }]);
  });

  it('a replica that starts as a follower and takes the lease later carries the rollback out, once', async () => {
    const file = logFile();
    const a = await crashInsidePatch(file);
    let leading = false; // the crashed pod's lease is still valid when the new process starts
    const { b, again } = await restart(file, a, { leader: () => leading });
    expect(b.actuator.calls).toEqual([]);
    leading = true;
    await runUntil(b, at('14:50:00'));
    expect(b.actuator.calls).toHaveLength(1);
    expect(new SqliteActionJournal(again.db).unfinishedRollbacks(0)).toEqual([]);
  });

  it('the reconciled rollback is announced: ROLLBACK_COMPLETE, or the failure page', async () => {
    const file = logFile();
    const a = await crashInsidePatch(file);
    const again = openDecisionLog(file);
    const b = setup({ store: again, journal: again });
    b.clock.t = a.clock.t;
    b.actuator.impl = () => Promise.resolve({ kind: 'failed', reason: 'API server unreachable' });
    await b.daemon.start();
    expect(b.events).toMatchObject([{ kind: 'rollback-finished', outcome: { kind: 'failed' } }]);
  });
});

describe('a release reverted by something other than its own engine decision is over', () => {
  const trigger = (s: Harness) => s.daemon.trigger({ namespace: 'voice-production', deployment: 'voice-server', tier: 'immediate', reason: 'CVE-2026-1234', by: 'alice' });

  it('after a manual immediate trigger, its later bad data decides no second rollback', async () => {
    const s = setup();
    await s.daemon.start();
    await s.releases.emit(release());
    await runUntil(s, T0 + 2 * 60_000);
    await trigger(s);
    await s.releases.emit({ ...release(s.clock.t), revision: '8', kind: 'own-rollback' });
    await runUntil(s, T0 + 3600_000);
    expect(s.actuator.calls).toHaveLength(1);
    expect(decisions(s)).toEqual(['14:02:15 rollback -']);
    expect(s.deps.store.openReleases()).toEqual([]);
  });

  it('after a manual immediate trigger on a healthy service, it is not promoted', async () => {
    const healthy: MetricSource = { instant: (q) => RECORDING.instant(q, T0 + 5 * 60_000) };
    const store = openDecisionLog(logFile());
    const s = setup({ store, source: healthy });
    await s.daemon.start();
    await s.releases.emit(release());
    await runUntil(s, T0 + 2 * 60_000);
    await trigger(s);
    await runUntil(s, T0 + 3600_000);
    expect(decisions(s).filter((d) => d.includes('promote'))).toEqual([]);
    expect(store.db.prepare(`SELECT outcome, outcome_note FROM releases`).all()).toEqual([{ outcome: 'rolled-back', outcome_note: 'rolled back on a manual trigger by alice' }]);
  });

  it("a follower that saw the leader's rollback does not revert again when it takes over", async () => {
    const store = openDecisionLog(logFile());
    let leading = false;
    const s = setup({ store, leader: () => leading });
    await s.daemon.start();
    await s.releases.emit(release());
    await runUntil(s, at('14:33:45'));
    await s.releases.emit({ ...release(s.clock.t), revision: '8', kind: 'own-rollback' });
    leading = true;
    s.clock.t = at('14:40:00');
    await runUntil(s, T0 + 3600_000);
    expect(s.actuator.calls).toEqual([]);
    expect(store.db.prepare(`SELECT outcome, outcome_note FROM releases`).all()).toEqual([{ outcome: 'rolled-back', outcome_note: 'rolled back to revision 8 by rollback-guard' }]);
  });
});

it('a restart does not guard again a revision whose release already ended (a refused rollback), nor announce it twice', async () => {
  const file = logFile();
  const store = openDecisionLog(file);
  const a = setup({ store, journal: store });
  a.actuator.impl = () => Promise.resolve({ kind: 'refused', code: 'guard-paused', reason: 'annotated rollback-guard.io/paused: "true"' });
  await a.daemon.start();
  await a.releases.emit(release());
  await runUntil(a, at('14:36:00'));
  store.close();
  a.clock.t = at('14:40:00');
  const { b, again } = await restart(file, a);
  // The watcher adopts revision 7 with what the decision log knows of it: its start and its outcome.
  await b.releases.emit({ ...release(T0, true), ended: 'rolled-back' });
  await runUntil(b, T0 + 3600_000);
  expect(b.events).toEqual([]);
  expect(b.actuator.calls).toEqual([]);
  expect(again.db.prepare(`SELECT count(*) FROM releases`).pluck().get()).toBe(1);
});

it("replays written into the daemon's decision log (replay --db) are never resumed or acted on", async () => {
  const store = openDecisionLog(logFile());
  const release = { startedAt: T0, severity: 'minor' as const, windowMs: 3600_000 };
  // One replay that decided a rollback (never carried out: replay acts on nothing), one that ran out of data open.
  const rolledBack = await replay({ ruleset: RULES, release, source: RECORDING, store, sourceName: 'replay:recording', stepMs: STEP, until: T0 + 3600_000 });
  expect(rolledBack.decisions.map((d) => d.action)).toContain('rollback');
  await replay({ ruleset: RULES, release, source: RECORDING, store, sourceName: 'replay:recording', stepMs: STEP, until: T0 + 20 * 60_000 });
  const s = setup({ store, journal: store });
  s.clock.t = T0 + 21 * 60_000;
  await s.daemon.start();
  await runUntil(s, T0 + 3600_000);
  expect(s.actuator.calls).toEqual([]);
  expect(s.events).toEqual([]);
  expect(s.daemon.status().activeReleases).toEqual([]);
});

describe('rollouts verified in the background, across stops and restarts', () => {
  it('stop() does not wait out a rollout; one cut off (SIGKILL after the grace period) is verified and announced after the restart', async () => {
    const file = logFile();
    const store = openDecisionLog(file);
    const a = setup({ store, journal: store });
    a.actuator.verify = () => new Promise(() => {}); // a rollout that takes its whole --verify-timeout
    await a.daemon.start();
    await a.releases.emit(release());
    await runUntil(a, at('14:34:00'));
    expect(a.actuator.calls).toHaveLength(1);
    const stopped = await Promise.race([a.daemon.stop().then(() => 'stopped'), new Promise((r) => setTimeout(() => r('still waiting after 2 s'), 2000))]);
    expect(stopped).toBe('stopped');
    expect(await a.daemon.idle(50)).toBe(false);
    store.close();
    const { b, again } = await restart(file, a);
    await b.daemon.tick(b.clock.t); // resumed at the first tick as leader, once the watcher has reported the cluster
    await b.daemon.idle();
    expect(again.db.prepare(`SELECT outcome, verification FROM rollbacks`).all()).toEqual([{ outcome: 'rolled-back', verification: 'rollback-complete' }]);
    expect(b.events).toMatchObject([{ kind: 'rollback-finished', verification: { kind: 'complete' } }]);
    expect(b.actuator.calls).toEqual([]); // verified, never patched again
    await runUntil(b, at('14:50:00'));
    expect(b.events.filter((e) => e.kind === 'recovery-judged')).toHaveLength(1);
  });

  it('a hotfix started while the rollout was verified ends the recovery question, also after a restart', async () => {
    const file = logFile();
    const store = openDecisionLog(file);
    // The hotfix (from 14:35) is healthy: its data reads as the release's first minutes did.
    const source: MetricSource = { instant: (q, t) => RECORDING.instant(q, t >= at('14:35:00') ? T0 + 5 * 60_000 : t) };
    const a = setup({ store, journal: store, source });
    let finish!: (v: VerifyOutcome) => void;
    a.actuator.verify = () => new Promise((r) => (finish = r));
    await a.daemon.start();
    await a.releases.emit(release());
    await runUntil(a, at('14:34:00'));
    a.clock.t = at('14:35:00');
    await a.releases.emit({ ...release(at('14:35:00'), false, '9'), images: ['voice-server:1.5.1'] });
    a.clock.t = at('14:37:00');
    finish({ kind: 'complete', detail: '3/3 updated and available' });
    await a.daemon.idle();
    await runUntil(a, at('14:39:00'));
    expect(a.events.filter((e) => e.kind === 'recovery-judged')).toEqual([]);
    expect(store.db.prepare(`SELECT count(*) FROM rollbacks`).pluck().get()).toBe(1);
    store.close();
    a.clock.t = at('14:40:00');
    const { b } = await restart(file, a, { source });
    await runUntil(b, at('14:55:00'));
    expect(b.events.filter((e) => e.kind === 'recovery-judged')).toEqual([]);
  });
});

it('a rollback decided for a release superseded while its tick was in flight is never carried out after a restart', async () => {
  const file = logFile();
  const store = openDecisionLog(file);
  let gate: Promise<void> | undefined;
  const source: MetricSource = { instant: async (q, t) => (gate && (await gate), RECORDING.instant(q, t)) };
  const a = setup({ store, journal: store, source });
  await a.daemon.start();
  await a.releases.emit(release());
  await runUntil(a, at('14:33:30'));
  let open!: () => void;
  gate = new Promise((r) => (open = r));
  const tick = a.daemon.tick(at('14:33:45')); // decides the rollback of revision 7 ...
  await new Promise((r) => setTimeout(r, 20));
  gate = undefined;
  const hotfix = a.releases.emit({ ...release(at('14:33:45'), false, '8'), images: ['voice-server:1.5.1'] }); // ... as revision 8 starts
  await new Promise((r) => setTimeout(r, 20));
  open();
  await Promise.all([tick, hotfix]);
  expect(a.actuator.calls).toEqual([]); // logged, not acted on
  store.close();
  a.clock.t = at('14:40:00');
  const { b } = await restart(file, a);
  await b.daemon.idle();
  expect(b.actuator.calls).toEqual([]);
  expect(b.events).toEqual([]);
});

it("a shadow rule's page, dropped from the rules file while the daemon was down, is closed silently: it was never sent", async () => {
  const text = fs.readFileSync('rules/voice-server.yaml', 'utf8');
  const shadowTtfa = parseRules(text.replace('name: ttfa-regression\n', 'name: ttfa-regression\n    mode: shadow\n'), 'rules/voice-server.yaml');
  const dropped = parseRules(text.replace('name: ttfa-regression\n', 'name: ttfa-regression-50pct\n'), 'rules/voice-server.yaml');
  const file = logFile();
  const store = openDecisionLog(file);
  const a = setup({ store, journal: store, rulesets: [shadowTtfa] });
  await a.daemon.start();
  await a.releases.emit(release());
  await runUntil(a, at('14:30:00'));
  expect(store.db.prepare(`SELECT action, rule, mode FROM decisions`).all()).toEqual([{ action: 'page', rule: 'ttfa-regression', mode: 'shadow' }]);
  store.close();
  const { b, again } = await restart(file, a, { rulesets: [dropped] });
  await b.daemon.tick(b.clock.t);
  expect(b.events.filter((e) => e.kind === 'decision' && e.decision.mode !== 'shadow')).toEqual([]);
  expect(again.db.prepare(`SELECT action, rule, mode FROM decisions WHERE action = 'resolve'`).all()).toEqual([{ action: 'resolve', rule: 'ttfa-regression', mode: 'shadow' }]);
});

it('a manual considered trigger (user complaints) escalates on the ladder, also across a restart, until someone decides', async () => {
  const healthy: MetricSource = { instant: (q) => RECORDING.instant(q, T0 + 5 * 60_000) };
  const file = logFile();
  const store = openDecisionLog(file);
  const a = setup({ store, journal: store, source: healthy });
  await a.daemon.start();
  await a.releases.emit(release());
  await runUntil(a, at('14:02:00'));
  await a.daemon.trigger({ namespace: 'voice-production', deployment: 'voice-server', tier: 'considered', reason: 'user complaints increasing', by: 'alice' });
  await runUntil(a, at('14:20:00'));
  expect(decisions(a)).toEqual(['14:02:15 page -', '14:17:15 escalate -']);
  store.close();
  const { b } = await restart(file, a, { source: healthy });
  await runUntil(b, T0 + 3600_000);
  expect(decisions(b)).toEqual(['14:32:15 escalate -', '15:00:00 resolve -', '15:00:00 promote -']);
  const escalated = b.events.find((e) => e.kind === 'decision' && e.decision.action === 'escalate');
  expect(escalated?.kind === 'decision' && escalated.decision.evidence.note).toBe('manual trigger by alice: user complaints increasing (paged 2026-11-20T14:02:15.000Z): still undecided');
  const promote = b.events.find((e) => e.kind === 'decision' && e.decision.action === 'promote');
  expect(promote?.kind === 'decision' && promote.decision.evidence.note).toMatch(/1 manual page was never decided$/);
});

/** The first daemon patches the rollback at 14:33:45 and is stopped (then killed) while its rollout is verified. */
async function stoppedMidVerification(file: string): Promise<Harness> {
  const store = openDecisionLog(file);
  const a = setup({ store, journal: store });
  a.actuator.verify = () => new Promise(() => {});
  await a.daemon.start();
  await a.releases.emit(release());
  await runUntil(a, at('14:34:00'));
  await a.daemon.stop();
  store.close();
  return a;
}

/** A healthy release guarded up to 14:02:15, with the approval service over its decision log. */
async function guardingHealthy() {
  const healthy: MetricSource = { instant: (q) => RECORDING.instant(q, T0 + 5 * 60_000) };
  const store = openDecisionLog(logFile());
  const s = setup({ store, journal: store, source: healthy });
  await s.daemon.start();
  await s.releases.emit(release());
  await runUntil(s, at('14:02:00'));
  const approvals = new ApprovalService({ db: store.db, outbox: new SqliteOutbox(store.db), settings: () => RULES.notifications, now: () => s.clock.t, act: () => Promise.resolve({ ok: true, detail: 'rolled back' }) });
  const trigger = (reason: string, by: string) => s.daemon.trigger({ namespace: 'voice-production', deployment: 'voice-server', tier: 'considered', reason, by });
  return { s, approvals, trigger };
}

describe('resumed verifications and manual pages', () => {
  const finished = (evs: { kind: string }[]) => evs.filter((e) => e.kind === 'rollback-finished').length;
  it('a new leader resuming a rollout the old one is still verifying: recorded and announced once', async () => {
    const file = logFile();
    const store = openDecisionLog(file);
    let aLeads = true;
    const a = setup({ store, journal: store, leader: () => aLeads });
    let finishA!: (v: VerifyOutcome) => void;
    a.actuator.verify = () => new Promise((r) => (finishA = r));
    await a.daemon.start();
    await a.releases.emit(release());
    await runUntil(a, at('14:34:00')); // rollback patched at 14:33:45, rollout being verified by A
    expect(a.actuator.calls).toHaveLength(1);
    aLeads = false; // A's lease renewal fails (API hiccup); A keeps running, its verification still in flight
    const other = openDecisionLog(file);
    const b = setup({ store: other, journal: other, leader: () => !aLeads });
    b.clock.t = a.clock.t;
    await b.daemon.start();
    await b.daemon.tick(b.clock.t); // B leads: resumes the verification
    await b.daemon.idle();
    finishA({ kind: 'complete', detail: '3/3 updated and available' });
    await a.daemon.idle();
    expect(finished(a.events) + finished(b.events)).toBe(1);
  });

  it('a hotfix deployed while the daemon was down: its rollout is not announced as the rollback completing', async () => {
    const file = logFile();
    const a = await stoppedMidVerification(file);
    a.clock.t = at('14:40:00'); // revision 8 (hotfix) rolled out at 14:36 while the daemon was down
    const { b, again } = await restart(file, a);
    await b.releases.emit({ ...release(at('14:36:00'), true, '8'), images: ['voice-server:1.5.1'] }); // the watcher's first list
    await b.daemon.tick(b.clock.t);
    await b.daemon.idle();
    expect(b.events.filter((e) => e.kind === 'rollback-finished')).toEqual([]);
    expect(again.db.prepare(`SELECT verification FROM rollbacks`).pluck().all()).toEqual([null]);
  });

  it("down for hours: a rollback patched 6 h ago is not announced now, nor its recovery judged on today's data", async () => {
    const file = logFile();
    const a = await stoppedMidVerification(file);
    a.clock.t = at('20:34:00');
    const { b } = await restart(file, a);
    await runUntil(b, at('20:50:00'));
    await b.daemon.idle();
    expect({ finished: finished(b.events), recovery: b.events.filter((e) => e.kind === 'recovery-judged').length }).toEqual({ finished: 0, recovery: 0 });
  });

  it('a declined manual page climbs no further', async () => {
    const { s, approvals, trigger } = await guardingHealthy();
    const page = await trigger('user complaints increasing', 'alice');
    approvals.decide({ decisionId: page.id, verdict: 'declined', by: 'bob', reason: 'not the release', via: 'api' });
    await runUntil(s, at('14:40:00'));
    expect(s.events.filter((e) => e.kind === 'decision' && e.decision.action === 'escalate')).toEqual([]);
  });

  it("a declined page of a rule climbs no further, also after a restart; without the verdict it climbs to level 3", async () => {
    // The bad release's data frozen at 14:31: TTFA regressed (ttfa-regression pages at 14:28:15), errors not yet 7 %.
    const frozen: MetricSource = { instant: (q, t) => RECORDING.instant(q, Math.min(t, at('14:31:00'))) };
    const climbs = async (decline: boolean) => {
      const file = logFile();
      const store = openDecisionLog(file);
      const s = setup({ store, journal: store, source: frozen });
      await s.daemon.start();
      await s.releases.emit(release());
      await runUntil(s, at('14:30:00'));
      const page = s.events.flatMap((e) => (e.kind === 'decision' && e.decision.action === 'page' && e.decision.rule === 'ttfa-regression' ? [e.decision] : []))[0]!;
      if (decline) new ApprovalService({ db: store.db, outbox: new SqliteOutbox(store.db), settings: () => RULES.notifications, now: () => s.clock.t, act: () => Promise.resolve({ ok: true, detail: '' }) }).decide({ decisionId: page.id, verdict: 'declined', by: 'lead', via: 'api' });
      await runUntil(s, at('14:40:00'));
      // Restarted mid-way: the verdict is in the release state it resumes from.
      const { b } = await restart(file, s, { source: frozen });
      await runUntil(b, at('14:59:00'));
      return [...s.events, ...b.events].flatMap((e) => (e.kind === 'decision' && e.decision.action === 'escalate' && e.decision.rule === 'ttfa-regression' ? [`${new Date(e.decision.at).toISOString().slice(11, 19)} level ${e.decision.level}`] : []));
    };
    expect(await climbs(false)).toEqual(['14:43:15 level 2', '14:58:15 level 3']);
    expect(await climbs(true)).toEqual([]);
  });

  it('two manual pages: a verdict on the escalation of the first is recorded on the first', async () => {
    const { s, approvals, trigger } = await guardingHealthy();
    const first = await trigger('user complaints increasing', 'alice');
    await runUntil(s, at('14:10:00'));
    await trigger('partial failure of call transfer', 'carol');
    await runUntil(s, at('14:18:00'));
    expect(decisions(s)).toEqual(['14:02:15 page -', '14:10:15 page -', '14:17:15 escalate -']);
    const esc = s.events.flatMap((e) => (e.kind === 'decision' && e.decision.action === 'escalate' ? [e.decision] : []))[0]!;
    expect(esc.evidence.pagedAt).toBe(at('14:02:15')); // page 1's escalation
    expect(approvals.decide({ decisionId: esc.id, verdict: 'declined', by: 'lead', via: 'api' }).pageDecisionId).toBe(first.id);
  });
});
