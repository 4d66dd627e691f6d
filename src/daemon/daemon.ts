// The live guard: one ReleaseGuard per target with a release in progress, ticked on a schedule through the same
// tick(now) replay uses. Decisions are committed to the decision log by the tick before anything is acted on
// (intent before action); the outcome of the action follows. Only the leader ticks and acts.
import type { Logger } from 'pino';
import { failpoint } from '../adapters/failpoint/failpoint.js';
import { formatDuration } from '../core/duration.js';
import { DEFAULT_TEMPLATES } from '../core/notification-templates.js';
import type { EngineContext, Evaluation } from '../core/engine.js';
import { bindRuleset } from '../core/bind-ruleset.js';
import { decisionText } from '../core/comparison-text.js';
import { isDecisionLogWriteError } from '../errors/decision-log-error.js';
import { readScalar, type QueryOutcome } from '../core/query-outcome.js';
import { checksRecovery } from '../core/recovery.js';
import type { Ruleset, Target } from '../core/ruleset.js';
import { formatProblem, RulesInvalidError } from '../errors/rules-invalid-error.js';
import { formatSummary } from '../core/summary-format.js';
import { toRfc3339 } from '../core/time-format.js';
import type { BatchOptions } from '../guard/query-batch.js';
import { ReleaseGuard, tickGuards } from '../guard/release-guard.js';
import type { ActionJournal } from '../ports/action-journal.js';
import type { Actuator, RollbackOutcome } from '../ports/actuator.js';
import type { Clock } from '../ports/clock.js';
import type { DecisionStore, OpenRelease, StableTarget, StoredDecision } from '../ports/decision-store.js';
import type { LeaderElector } from '../ports/leader.js';
import type { MetricSource } from '../ports/metric-source.js';
import type { ObservedRelease, ReleaseSource, TargetChange } from '../ports/release-source.js';
import type { GuardEventSink } from './guard-events.js';
import { RecoveryWatch } from './recovery-watch.js';
import { TargetRegistry, targetKey as key } from './target-registry.js';
import type { DaemonMetrics } from './metrics.js';

export interface DaemonOptions {
  /** Decide and log, never patch the cluster. Default false. */
  dryRun: boolean;
  /** Prometheus unreadable for this long pages "guard blind" once. Default 2 min. */
  blindAfterMs: number;
  /** Bounded wait for a rollback's rollout to complete. Default 5 min. */
  verifyTimeoutMs: number;
}

export interface DaemonDeps {
  rulesets: readonly Ruleset[];
  /** Where rollback attempts and release identities are recorded; none in tests that do not need it. */
  journal?: ActionJournal;
  source: MetricSource;
  store: DecisionStore;
  actuator: Actuator;
  releases: ReleaseSource;
  leader: LeaderElector;
  events: GuardEventSink;
  clock: Clock;
  log: Logger;
  metrics: DaemonMetrics;
  options: DaemonOptions;
  /** Told when a write to the decision log failed outside a tick (a release's start): the daemon cannot decide. */
  onDecisionLogError?: (err: Error) => void;
}

export interface DaemonStatus {
  leader: boolean;
  leaderName: string | undefined;
  activeReleases: { releaseId: number; target: string; startedAt: string; severity: string }[];
  lastSuccessfulPoll: string | null;
  blindSince: string | null;
  rulesHashes: Record<string, string>;
  /** Deployments two rules files claim (each not guarded by the second), named. */
  conflicts?: string[];
  ticks: number;
}


const STATE_VALUE = { inactive: 0, pending: 1, firing: 2 } as const;
/** How far back a restart looks for work a crash left undone (rollbacks to carry out, announcements to plan). */
const RECONCILE_WINDOW_MS = 24 * 3600_000;

export class Daemon {
  private readonly targets = new TargetRegistry();
  /** Open releases of Deployments not listed by any file, until the watcher says whether a fleet still selects them. */
  private readonly unresumed = new Map<string, OpenRelease>();
  private readonly guards = new Map<string, ReleaseGuard>();
  /** The revision each guarded release was judged on: a rollback of anything else is refused. */
  private readonly revisions = new Map<string, string>();
  /** Each target's pod selector as last seen (its per-target queries' {{selector}}), for reads outside a release. */
  private readonly selectors = new Map<string, Record<string, string>>();
  /** Rollbacks that rolled out, per target, whose recovery is being judged (checklist 5.3). */
  private readonly recoveries: RecoveryWatch;
  /** Targets this process is rolling back right now: the watcher's sight of that rollback is its caller's to handle. */
  private readonly rollingBack = new Set<string>();
  /** Rollouts being verified in the background, and what follows them (recovery watch, announcement). */
  private readonly settling = new Set<Promise<void>>();
  /** The rollbacks (ids in the journal) those verifications are for. */
  private readonly verifying = new Set<number>();
  private wasLeader = false;
  private stopping = false;
  private verificationsToResume = true;
  private busy = false;
  private ticks = 0;
  /** Set when the decision log is writable again: what could not be recorded or announced meanwhile is, next tick. */
  private reconcileRequested = false;
  private lastSuccess: number | undefined;
  private failingSince: number | undefined;
  private blindPaged = false;
  private lastError = '';
  /** Per-target queries found at run time not to keep their target labels are sent per target from then on. */
  private readonly batch: BatchOptions = {
    ungroupable: new Map(),
    onUngroupable: (template, reason) => this.deps.log.warn({ query: template, reason }, 'per-target query sent per target, not once for all targets: its answer cannot be split by target'),
  };

  constructor(private readonly deps: DaemonDeps) {
    this.setRulesets(deps.rulesets);
    this.recoveries = new RecoveryWatch({ ...deps, rulesFor: (target, selector, stable) => this.boundRuleset(target, selector, stable) });
  }

  /** Resumes the releases the decision log has open, then listens for new releases. */
  async start(): Promise<void> {
    const { store } = this.deps;
    const fleets = this.targets.hasFleets;
    for (const open of store.openReleases()) {
      const ruleset = this.targets.rulesetFor(open);
      // Perhaps a fleet's: resumed when the watcher finds it still selected, abandoned if it does not.
      if (!ruleset && fleets) this.unresumed.set(key(open), open);
      else if (!ruleset) this.abandon(open, `target ${key(open)} is no longer in the rules`);
      else this.resume(ruleset, open);
    }
    this.deps.metrics.activeReleases.set(this.guards.size);
    // Blind when it stopped, and nothing read since: still blind, already paged (a restart must not page again).
    const blind = this.guards.size || this.unresumed.size ? this.deps.events.blindSince?.() : undefined;
    if (blind !== undefined) {
      this.failingSince = blind;
      this.blindPaged = true;
      this.deps.metrics.blind.set(1);
      this.deps.log.warn({ since: toRfc3339(blind) }, 'guard blind before the restart, and nothing read since: not paged again');
    }
    await this.reconcile();
    this.recoveries.resume(this.deps.clock.now() - RECONCILE_WINDOW_MS);
    // Not leading yet: the first tick as leader reconciles and resumes instead (a takeover after a crash).
    this.wasLeader = this.deps.leader.isLeader();
    await this.deps.releases.start((r) => this.onRelease(r), (c) => this.onTarget(c));
    for (const open of this.unresumed.values()) this.abandon(open, `target ${key(open)} is no longer selected by any rules file`);
    this.unresumed.clear();
    this.deps.metrics.activeReleases.set(this.guards.size);
    // Found at start: two files claim one Deployment. Refused like a bad rules file, naming both.
    const conflicts = [...this.targets.conflicts.values()];
    if (conflicts.length) throw new RulesInvalidError(conflicts[0]!.file, conflicts);
  }

  private resume(ruleset: Ruleset, open: OpenRelease): void {
    const { store, log } = this.deps;
    if (ruleset.hash !== open.rulesHash) store.recordRules(ruleset);
    this.guards.set(key(open), ReleaseGuard.resume({ ruleset, open, source: this.deps.source, store }));
    // A rollback is only of the revision judged: restored, so a resumed release keeps that check.
    if (open.revision !== undefined) this.revisions.set(key(open), open.revision);
    if (open.selector) this.selectors.set(key(open), open.selector);
    log.info({ releaseId: open.id, target: key(open), startedAt: toRfc3339(open.startedAt) }, 'resumed release from the decision log');
  }

  private abandon(open: { id: number; namespace: string; deployment: string }, note: string): void {
    this.deps.store.closeRelease(open.id, 'abandoned', this.deps.clock.now(), note);
    this.deps.log.warn({ releaseId: open.id, target: key(open) }, `open release abandoned: ${note}`);
  }

  /**
   * A fleet's Deployment appeared (or gained its labels), or disappeared: guarded from now on with its file's rules,
   * or no longer (a release in progress is abandoned: nothing is left to revert). One rules file per Deployment: a
   * second file claiming it is refused, named (at start, the daemon does not start).
   */
  onTarget(c: TargetChange): void {
    const { log } = this.deps;
    const target = key(c);
    if (c.kind === 'added') {
      const found = this.targets.select(c);
      if (found.kind === 'conflict' && found.first) log.error({ target, files: [found.other, c.selection] }, found.problem.message);
      if (found.kind !== 'added') return;
      log.info({ target, rules: c.selection }, 'Deployment selected: guarded from now on');
      const open = this.unresumed.get(target);
      const ruleset = this.targets.file(c.selection);
      if (open && ruleset) {
        this.unresumed.delete(target);
        this.resume(ruleset, open);
      }
      return;
    }
    if (!this.targets.unselect(c)) return;
    const guard = this.guards.get(target);
    if (guard && !guard.over) this.abandon(guard.stored, `${target} is no longer selected by ${c.selection} (deleted, or its labels changed)`);
    this.guards.delete(target);
    this.revisions.delete(target);
    this.deps.metrics.activeReleases.set(this.guards.size);
    log.info({ target, rules: c.selection }, 'Deployment no longer selected: not guarded any more');
  }

  /** The rules in force for a Deployment: the file that lists it, or the fleet that selected it. */
  rulesetFor(t: { namespace: string; deployment: string }): Ruleset | undefined {
    return this.targets.rulesetFor(t);
  }

  /** A guarded Deployment's settings (its rollback strategy): as listed, or its fleet's. */
  targetFor(t: { namespace: string; deployment: string }): Target | undefined {
    return this.targets.targetFor(t);
  }

  /**
   * Intent before action: a rollback decision is committed before the patch. A crash in between leaves a
   * decision with no recorded attempt; carry it out now. The actuator recognises a rollback already applied (the
   * decision id is annotated on the Deployment) and skips it, so this never reverts twice.
   */
  private async reconcile(afterOutage = false): Promise<void> {
    const { journal, leader, log, clock, store } = this.deps;
    if (!journal || !leader.isLeader()) return;
    const since = clock.now() - RECONCILE_WINDOW_MS;
    // First what committed decisions still owe the outbox: a rollback's ROLLBACK_START goes before how it ended.
    await this.announceOwed(since);
    for (const u of journal.unfinishedRollbacks(since)) {
      const target = `${u.namespace}/${u.deployment}`;
      // After an outage of the log (this process lived through it), a rollback of this process still under way is
      // its own, not one to carry out again.
      if (afterOutage && this.rollingBack.has(target)) continue;
      log.warn({ decisionId: u.decisionId, target }, 'rollback decided before a restart with no recorded outcome: reconciling with the cluster');
      // Only of the revision judged: one deployed meanwhile (by hand, or a hotfix) is refused, never reverted.
      // ROLLBACK_START went out before the crash: how it ended (complete, refused or failed) is announced.
      const decision = store.decision?.(u.decisionId);
      // `resumed`: found already carried out (the crash came after the patch), it is verified and judged as if made now.
      await this.rollback(target, u.releaseId, u.reason, u.revision, decision ?? u.decisionId, undefined, true);
    }
    // Approved, then a crash before the rollback was attempted: the approval stands, so it is carried out now. Not
    // after an outage of the log: this process's approvals are being acted on, and a restart finds any left over.
    for (const { decisionId } of afterOutage ? [] : (journal.unactedApprovals?.(since) ?? [])) {
      log.warn({ decisionId }, 'rollback approved before a restart and never attempted: carrying it out now');
      const outcome = await this.actOnApproval(decisionId);
      journal.approvalActed?.(decisionId, outcome, clock.now());
    }
  }

  /**
   * Decisions, rollback outcomes and recovery verdicts committed before a restart whose notifications were never
   * planned (a crash came between the commit and the outbox): planned now, once, in the order they would have
   * been (ADR 0013). The outbox's unique keys make planning again harmless, so a crash during this is too.
   */
  private async announceOwed(since: number): Promise<void> {
    const { store, log, events, clock } = this.deps;
    if (!events.owed || !store.decision) return;
    for (const owed of events.owed(since)) {
      const decision = store.decision(owed.decisionId);
      if (!decision) continue;
      log.warn({ decisionId: decision.id, target: owed.target, owed: owed.kind, action: decision.action }, 'committed before a restart and never announced: announcing it now');
      if (owed.kind === 'decision') await this.announce(owed.target, decision, clock.now());
      else if (owed.kind === 'rollback-finished') await this.rollbackFinished(owed.target, decision, owed.outcome, owed.verification);
      else await events.emit({ kind: 'recovery-judged', decision, target: owed.target, at: owed.at, since: owed.since, outcome: owed.outcome, readings: owed.readings });
    }
  }

  async stop(): Promise<void> {
    // Triggers and approvals that arrive from now on are refused: nothing new may start as the log closes.
    this.stopping = true;
    await this.deps.releases.stop();
    // Let a running tick finish: its decisions and actions are already under way.
    while (this.busy) await new Promise((r) => setTimeout(r, 20));
  }

  /**
   * Resolves true once every rollout being verified has been recorded and announced, or false after `timeoutMs`:
   * a shutdown cannot wait out a 5-minute rollout; what it cuts off is verified after the restart.
   */
  async idle(timeoutMs = Number.POSITIVE_INFINITY): Promise<boolean> {
    const deadline = Date.now() + timeoutMs;
    while (this.settling.size) {
      const left = deadline - Date.now();
      if (left <= 0) return false;
      let timer: NodeJS.Timeout | undefined;
      const timedOut = Number.isFinite(left) ? new Promise<'timeout'>((r) => (timer = setTimeout(() => r('timeout'), left))) : undefined;
      const done = await Promise.race([Promise.allSettled([...this.settling]), ...(timedOut ? [timedOut] : [])]);
      clearTimeout(timer);
      if (done === 'timeout') return false;
    }
    return true;
  }

  /**
   * Rollbacks patched but never verified (the daemon stopped or crashed during the background verification):
   * verified now, recorded and announced, with their recovery check.
   */
  private resumeVerifications(): void {
    const { journal, store, log, clock } = this.deps;
    if (!journal?.unverifiedRollbacks || !store.decision) return;
    // Within the hour: an older rollout, verified now, would announce then as now (and judge recovery on today).
    for (const u of journal.unverifiedRollbacks(clock.now() - 3600_000)) {
      if (this.verifying.has(u.rollbackId)) continue;
      const decision = store.decision(u.decisionId);
      if (!decision) continue;
      log.info({ target: key(u), decisionId: u.decisionId }, 'rollback patched before a restart with its rollout never verified: verifying it now');
      this.settleInBackground(key(u), u.outcome, u.rollbackId, decision, undefined);
    }
  }

  /** A valid reloaded rules file takes effect at the next tick; active releases keep their rule states. */
  setRulesets(rulesets: readonly Ruleset[]): void {
    this.targets.set(rulesets);
    for (const [target, guard] of this.guards) {
      const rs = this.targets.rulesetFor(guard.stored);
      if (rs && rs.hash !== guard.ctx.ruleset.hash) {
        this.deps.store.recordRules(rs);
        try {
          guard.reload(rs);
        } catch (err) {
          // A new per-target query this release cannot be bound for (a {{selector}} it was not judged with): the
          // release keeps the rules it was judged with; the next release takes the new file.
          this.deps.log.error({ target, error: (err as Error).message }, 'reloaded rules cannot be bound for the release in progress; it keeps its rules');
        }
      }
    }
  }

  /** Releases are handled one at a time: two revisions seen in quick succession must not both begin. */
  private releaseChain: Promise<void> = Promise.resolve();

  onRelease(r: ObservedRelease): Promise<void> {
    const next = this.releaseChain.then(() => this.handleRelease(r));
    this.releaseChain = next.catch((err: unknown) => {
      this.deps.log.error({ error: (err as Error).message, target: key(r) }, 'could not start guarding a release');
      // Its start could not be recorded: reported again by the next periodic read, once the log can be written.
      if (isDecisionLogWriteError(err)) {
        this.deps.releases.forget?.(r);
        this.deps.onDecisionLogError?.(err);
      }
    });
    return next;
  }

  private async handleRelease(r: ObservedRelease): Promise<void> {
    const { log, store, clock } = this.deps;
    const target = key(r);
    const ruleset = this.rulesetFor(r);
    if (!ruleset) return;
    if (r.kind === 'own-rollback') {
      log.info({ target, revision: r.revision }, 'observed our own rollback; verification follows the rollback itself');
      // Reverted by another replica (before a takeover), a manual trigger or `rollback-guard rollback`: the
      // revision guarded here is gone, so its release ends rather than being judged (and reverted) again.
      // The guard stays until the next tick drops it, so a rollback of this process's own can still watch recovery.
      const reverted = this.guards.get(target);
      if (reverted && !reverted.over && !this.rollingBack.has(target) && this.revisions.get(target) !== r.revision) {
        store.closeRelease(reverted.stored.id, 'rolled-back', clock.now(), `rolled back to revision ${r.revision} by rollback-guard`);
        reverted.endRolledBack(clock.now());
      }
      return;
    }
    if (r.severityProblem) log.warn({ target, problem: r.severityProblem }, 'release severity annotation not understood; guarding as minor');
    if (r.selector) this.selectors.set(target, r.selector);
    const existing = this.guards.get(target);
    const guardedRevision = this.revisions.get(target);
    // The revision already guarded, found again (adoption after a restart, a relist): resumed, not restarted.
    if (existing && r.adopted && (guardedRevision === undefined || guardedRevision === r.revision)) return;
    // Any other revision ends the release guarded so far, even one not guarded itself (found past its window): a
    // release held open past its window (ADR 0010) must not outlive it, nor be reverted on a later breach.
    if (existing) {
      store.closeRelease(existing.stored.id, 'superseded', clock.now(), `revision ${r.revision} started while it was guarded`);
      this.guards.delete(target);
      this.revisions.delete(target);
      this.deps.metrics.activeReleases.set(this.guards.size);
    }
    // Found again after a restart, but its release already ended in the decision log (rolled back, even if the
    // rollback was refused; promoted): guarding it again would announce it twice and could revert it twice.
    if (r.adopted && r.ended) {
      log.info({ target, revision: r.revision, outcome: r.ended }, 'release of this revision already ended in the decision log; not guarded again');
      return;
    }
    // A new version replaces the one rolled back to: its recovery is no longer the question.
    if (this.recoveries.end(target)) log.info({ target, revision: r.revision }, 'recovery check ended without a verdict: a new revision started');
    const windowMs = ruleset.windowsMs[r.severity];
    if (r.startedAt + windowMs <= clock.now()) {
      log.info({ target, revision: r.revision, startedAt: toRfc3339(r.startedAt) }, 'release already past its guard window; not guarded');
      return;
    }
    const stable = this.stableOf(target);
    const guard = await ReleaseGuard.begin({
      ruleset,
      release: { startedAt: r.startedAt, severity: r.severity, windowMs },
      target: { namespace: r.namespace, deployment: r.deployment },
      ...(r.selector ? { selector: r.selector } : {}),
      ...(stable ? { stable } : {}),
      source: this.deps.source,
      store,
      sourceName: 'live',
    });
    this.guards.set(target, guard);
    this.revisions.set(target, r.revision);
    this.deps.journal?.releaseIdentified(guard.stored.id, { revision: r.revision, images: r.images, ...(r.changeCause ? { changeCause: r.changeCause } : {}) });
    this.deps.metrics.activeReleases.set(this.guards.size);
    log.info({ releaseId: guard.stored.id, target, revision: r.revision, severity: r.severity, window: formatDuration(windowMs), adopted: r.adopted }, 'guarding release');
    await this.deps.events.emit({
      kind: 'release-started', releaseId: guard.stored.id, target, revision: r.revision, images: r.images, severity: r.severity, at: r.startedAt, adopted: r.adopted,
      ...(r.changeCause ? { changeCause: r.changeCause } : {}), ...(r.manager ? { manager: r.manager } : {}), ...(r.tracking ? { tracking: r.tracking } : {}),
    });
  }

  /**
   * One scheduled evaluation of every active release. Never overlaps itself; only the leader ticks. False when it
   * was skipped because the previous tick is still running (the schedule catches that instant up).
   */
  async tick(now = this.deps.clock.now()): Promise<boolean> {
    const { metrics, log } = this.deps;
    if (this.busy) {
      metrics.overruns.inc();
      log.warn('tick skipped: the previous tick is still running (overrun)');
      return false;
    }
    const leading = this.deps.leader.isLeader();
    metrics.leader.set(leading ? 1 : 0);
    const takingOver = leading && !this.wasLeader;
    this.wasLeader = leading;
    if (!leading) return true;
    this.busy = true;
    const end = metrics.tickDuration.startTimer();
    try {
      // Taking over: rollbacks the previous leader decided but never carried out, and recovery checks it started
      // (or left unjudged), carry on here.
      if (takingOver || this.reconcileRequested) {
        await this.reconcile(!takingOver);
        this.reconcileRequested = false;
        this.recoveries.resume(this.deps.clock.now() - RECONCILE_WINDOW_MS);
      }
      // At the first tick as leader, not at start: by then the watcher has reported what the cluster runs, so a
      // release deployed while the daemon was down is in the log and its rollout is not taken for the rollback's.
      if (takingOver || this.verificationsToResume) {
        this.verificationsToResume = false;
        this.resumeVerifications();
      }
      // A release seen before this instant is judged at it, as replay judges it: one still being started (its
      // baselines are being read) is waited for, not left to the next tick.
      await this.releaseChain;
      let evaluated = 0;
      let failed = 0;
      const ticking = [...this.guards];
      // A manual page someone decided climbs no further (the engine cannot see approvals).
      for (const [, guard] of ticking) {
        if (guard.releaseState.manual?.length && this.deps.journal?.decidedManualPages) guard.closeManualPages(this.deps.journal.decidedManualPages(guard.stored.id));
        // A declined rule page climbs no further (it stays open until its rule stops firing).
        const climbing = Object.values(guard.releaseState.rules).some((m) => m.page && !m.page.declined);
        if (climbing && this.deps.journal?.declinedRulePages) guard.declineRulePages(this.deps.journal.declinedRulePages(guard.stored.id));
      }
      // Every target's queries in one batch (one query per rule for targets that share it), each instant committed.
      const results = await tickGuards(this.deps.source, ticking.map(([, g]) => g), now, this.batch);
      for (const [i, [target, guard]] of ticking.entries()) {
        const result = results[i]!;
        if (result.decisions.length) failpoint('after-decision-commit', ...result.decisions.map((d) => d.action));
        if (this.guards.get(target) !== guard) {
          // A newer release replaced this one while its tick was in flight: its decisions are logged, not acted on.
          if (result.decisions.length) log.warn({ target, releaseId: guard.stored.id, decisions: result.decisions.map((d) => d.id) }, 'decisions of a superseded release: logged, not acted on');
          continue;
        }
        for (const e of result.evaluations) this.observe(target, e, guard);
        evaluated += result.evaluations.length;
        failed += result.evaluations.filter((e) => e.verdict === 'error').length;
        const lastError = result.evaluations.find((e) => e.verdict === 'error')?.detail;
        if (lastError) this.lastError = lastError;
        for (const d of result.decisions) await this.act(target, d, now);
        if (guard.over) this.guards.delete(target);
      }
      metrics.activeReleases.set(this.guards.size);
      await this.recoveries.tick(now);
      await this.trackBlindness(now, evaluated, failed);
      this.ticks++;
      metrics.ticks.inc();
    } finally {
      end();
      this.busy = false;
    }
    return true;
  }

  /**
   * After the decision log could not be written: a decision committed whose notifications could not be planned,
   * or a rollback patched whose attempt could not be recorded, is announced or reconciled at the next tick, as
   * after a restart (ADR 0013).
   */
  requestReconcile(): void {
    this.reconcileRequested = true;
  }

  /** Manual trigger for what no metric sees (a critical vulnerability; user complaints). */
  async trigger(t: { namespace: string; deployment: string; tier: 'immediate' | 'considered'; reason: string; by: string }): Promise<StoredDecision> {
    const target = key(t);
    if (this.stopping) throw new Error('the daemon is shutting down; send the trigger to the next leader');
    const guard = this.guards.get(target);
    if (!guard) throw new Error(`no release of ${target} is being guarded`);
    const now = this.deps.clock.now();
    const stored = guard.trigger(now, t.tier, `manual trigger by ${t.by}: ${t.reason}`);
    failpoint('after-decision-commit', stored.action);
    const outcome = await this.act(target, stored, now);
    // Reverted: the release is over, as after an engine's rollback; its bad data must not decide a second one.
    if (outcome?.kind === 'rolled-back' || outcome?.kind === 'skipped') {
      this.deps.store.closeRelease(guard.stored.id, 'rolled-back', this.deps.clock.now(), `rolled back on a manual trigger by ${t.by}`);
      guard.endRolledBack(this.deps.clock.now());
    }
    return stored;
  }

  /**
   * An approved considered decision (or one of its escalations): roll the release back through the same safe
   * path, announce it, and end the release. Called by the approval service, which guarantees once per page.
   */
  async actOnApproval(decisionId: number): Promise<{ ok: boolean; detail: string }> {
    const { journal, events, clock, store } = this.deps;
    if (this.stopping) return { ok: false, detail: 'the daemon is shutting down; roll back by hand: rollback-guard rollback NAMESPACE/DEPLOYMENT' };
    const decision = store.decision?.(decisionId);
    if (!decision) return { ok: false, detail: `decision ${decisionId} is not in the decision log` };
    const found = [...this.guards].find(([, g]) => g.stored.id === decision.releaseId);
    if (!found) return { ok: false, detail: 'the release is no longer guarded by this replica; roll back by hand: rollback-guard rollback NAMESPACE/DEPLOYMENT' };
    const [target, guard] = found;
    const by = journal?.approverOf?.(decisionId) ?? 'an approver';
    await events.emit({ kind: 'approved-rollback-started', decision, target, at: clock.now(), by });
    const outcome = await this.rollback(target, guard.stored.id, `approved by ${by}: ${decisionText(decision)}`, this.revisions.get(target), decision, guard.ctx);
    if (outcome.kind === 'rolled-back') {
      store.closeRelease(guard.stored.id, 'rolled-back', clock.now(), `rolled back on approval by ${by}`);
      guard.endRolledBack(clock.now());
      if (this.guards.get(target) === guard) this.guards.delete(target);
      this.deps.metrics.activeReleases.set(this.guards.size);
    }
    const ok = outcome.kind === 'rolled-back' || outcome.kind === 'would-roll-back' || outcome.kind === 'skipped';
    const detail = 'fromRevision' in outcome ? `${outcome.kind} from revision ${outcome.fromRevision} to ${outcome.toRevision}` : `${outcome.kind}: ${outcome.reason}`;
    return { ok, detail };
  }

  status(): DaemonStatus {
    return {
      leader: this.deps.leader.isLeader(),
      leaderName: this.deps.leader.leader(),
      activeReleases: [...this.guards].map(([target, g]) => ({ releaseId: g.stored.id, target, startedAt: toRfc3339(g.ctx.release.startedAt), severity: g.ctx.release.severity })),
      lastSuccessfulPoll: this.lastSuccess !== undefined ? toRfc3339(this.lastSuccess) : null,
      blindSince: this.blindPaged && this.failingSince !== undefined ? toRfc3339(this.failingSince) : null,
      rulesHashes: this.targets.hashes(),
      ...(this.targets.conflicts.size ? { conflicts: [...this.targets.conflicts.values()].map(formatProblem) } : {}),
      ticks: this.ticks,
    };
  }

  private observe(target: string, e: Evaluation, guard: ReleaseGuard): void {
    const m = this.deps.metrics;
    const labels = { target, rule: e.rule };
    m.ruleState.set(labels, STATE_VALUE[e.state]);
    if (e.value !== null && Number.isFinite(e.value)) m.ruleValue.set(labels, e.value);
    else m.ruleValue.remove(labels);
    // What a dashboard shows beside the value: what it is compared with, and how far into its hold a breach is.
    if (e.threshold !== null && Number.isFinite(e.threshold)) m.ruleThreshold.set(labels, e.threshold);
    else m.ruleThreshold.remove(labels);
    const forMs = guard.ctx.ruleset.rules.find((r) => r.name === e.rule)?.forMs ?? 0;
    const since = guard.releaseState.rules[e.rule]?.activeAt;
    m.ruleHoldProgress.set(labels, e.state === 'firing' ? 1 : e.state === 'pending' && since !== undefined ? (forMs > 0 ? Math.min(1, (e.at - since) / forMs) : 1) : 0);
    if (e.verdict === 'error') m.queryErrors.inc({ rule: e.rule });
  }

  /** Errors (not empty data) on every query for `blindAfterMs`: page once, keep trying, never act on unknown. */
  private async trackBlindness(now: number, evaluated: number, failed: number): Promise<void> {
    if (evaluated === 0) return;
    if (failed < evaluated) {
      if (this.blindPaged && this.failingSince !== undefined) {
        await this.deps.events.emit({ kind: 'guard-sighted', at: now, blindForMs: now - this.failingSince });
        this.deps.log.info({ blindFor: formatDuration(now - this.failingSince) }, 'Prometheus readable again');
      }
      this.lastSuccess = now;
      this.deps.metrics.lastSuccessfulPoll.set(now / 1000);
      this.failingSince = undefined;
      this.blindPaged = false;
      this.deps.metrics.blind.set(0);
      return;
    }
    this.failingSince ??= now;
    if (!this.blindPaged && now - this.failingSince >= this.deps.options.blindAfterMs) {
      this.blindPaged = true;
      this.deps.metrics.blind.set(1);
      this.deps.log.error({ since: toRfc3339(this.failingSince), lastError: this.lastError }, 'guard blind: Prometheus cannot be read; not acting on unknown data');
      await this.deps.events.emit({ kind: 'guard-blind', at: now, since: this.failingSince, lastError: this.lastError });
    }
  }

  /** Logs and announces a decision and carries it out; a rollback's outcome is returned. */
  private async act(target: string, d: StoredDecision, now: number): Promise<RollbackOutcome | undefined> {
    const { log, metrics, events } = this.deps;
    metrics.decisions.inc({ action: d.action, mode: d.mode });
    metrics.lastDecision.set({ target, action: d.action }, d.at / 1000);
    log.info({ decisionId: d.id, releaseId: d.releaseId, target, action: d.action, rule: d.rule, tier: d.tier, level: d.level, mode: d.mode, value: d.value, threshold: d.threshold, evidence: d.evidence }, `decision: ${d.action}${d.rule ? ` (${d.rule})` : ''}`);
    if (d.mode === 'shadow') return; // logged, never acted on or sent
    await this.announce(target, d, now);
    if (d.action !== 'rollback') return undefined;
    await events.emit({ kind: 'rollback-started', decision: d, target, at: now });
    return this.rollback(target, d.releaseId, decisionText(d), this.revisions.get(target), d, this.guards.get(target)?.ctx);
  }

  /** Plans a decision's notifications; a promote's message first reads the `summary` readings DEPLOY_SUCCESS uses. */
  private async announce(target: string, d: StoredDecision, now: number): Promise<void> {
    const summary = d.action === 'promote' ? await this.readSummary(target, now, 'DEPLOY_SUCCESS') : undefined;
    await this.deps.events.emit({ kind: 'decision', decision: d, target, ...(summary ? { summary } : {}) });
    failpoint('after-outbox-rows', d.action);
  }

  /**
   * Announces how a rollback ended; a completed one carries the `summary` readings ROLLBACK_COMPLETE uses, and whether
   * a recovery check is judging it (`recoveryChecked`; after a restart, whether the rules give one: it resumes).
   */
  private async rollbackFinished(target: string, decision: StoredDecision, outcome: RollbackOutcome, verification: { kind: 'complete' | 'failed'; detail: string } | undefined, checking?: boolean): Promise<void> {
    const at = this.deps.clock.now();
    const completed = (outcome.kind === 'rolled-back' || outcome.kind === 'skipped') && verification?.kind !== 'failed';
    const summary = completed ? await this.readSummary(target, at, 'ROLLBACK_COMPLETE') : undefined;
    // Rolled out is not recovered (5.3): the message says whether the recovery verdict is still to come.
    const [namespace, deployment] = target.split('/') as [string, string];
    const rules = this.rulesetFor({ namespace, deployment });
    const recoveryChecked = completed && (checking ?? (rules !== undefined && checksRecovery(rules, decision.rule)));
    await this.deps.events.emit({ kind: 'rollback-finished', decision, target, at, outcome, ...(verification ? { verification } : {}), ...(summary ? { summary } : {}), ...(completed ? { recoveryChecked } : {}) });
  }

  /**
   * The `notifications.summary` placeholders a message's template uses (DEPLOY_SUCCESS's metrics at the promote,
   * ROLLBACK_COMPLETE's AFFECTED_COUNT when a rollback completes), one query each. Read concurrently, after the
   * decision is logged, within the query's own timeout; a failed query reads "n/a (query failed)".
   */
  private async readSummary(target: string, now: number, template: 'DEPLOY_SUCCESS' | 'ROLLBACK_COMPLETE'): Promise<Record<string, string> | undefined> {
    const ruleset = this.boundRuleset(target, this.selectors.get(target), this.stableOf(target));
    const notifications = ruleset?.notifications;
    const text = notifications?.templates[template] ?? DEFAULT_TEMPLATES[template];
    const entries = Object.entries(notifications?.summary ?? {}).filter(([name]) => text.includes(`{${name}}`));
    if (entries.length === 0) return undefined;
    const asOf = now - (ruleset?.evaluationOffsetMs ?? 0);
    const read = await Promise.all(entries.map(async ([name, s]) => [name, formatSummary(readScalar(await this.read(s.query, asOf)), s.format)] as const));
    return Object.fromEntries(read);
  }

  /**
   * The rules in force for a target, its per-target queries bound with `selector` (the release's); undefined for a
   * target no file guards, or when a query needs a selector that is not known (the caller then has nothing to read).
   */
  private boundRuleset(target: string, selector: Record<string, string> | undefined, stable: StableTarget | undefined): Ruleset | undefined {
    const [namespace, deployment] = target.split('/') as [string, string];
    const ruleset = this.rulesetFor({ namespace, deployment });
    if (!ruleset) return undefined;
    try {
      return bindRuleset(ruleset, { namespace, deployment, ...(selector ? { selector } : {}), ...(stable ? { stable } : {}) });
    } catch (err) {
      this.deps.log.warn({ target, error: (err as Error).message }, 'per-target queries cannot be bound');
      return undefined;
    }
  }

  /** A canary's stable Deployment (its target's `compareTo`), with that Deployment's pod selector as last seen. */
  private stableOf(target: string): StableTarget | undefined {
    const [namespace, deployment] = target.split('/') as [string, string];
    const t = this.targets.targetFor({ namespace, deployment }); // a fleet's Deployments have no compareTo
    if (!t?.compareTo) return undefined;
    const selector = this.selectors.get(`${t.namespace}/${t.compareTo}`);
    return { namespace: t.namespace, deployment: t.compareTo, ...(selector ? { selector } : {}) };
  }

  /** A query outside a release's tick: a source that throws (it should not) is an error outcome, never a crash. */
  private async read(query: string, at: number): Promise<QueryOutcome> {
    try {
      return await this.deps.source.instant(query, at);
    } catch (err) {
      return { kind: 'error', error: err instanceof Error ? err.message : String(err) };
    }
  }

  /**
   * Patches (through the actuator, which refuses a revision other than `expectedRevision`) and records the attempt;
   * resolves with the outcome as soon as the patch is answered. The rollout is verified in the background (up to
   * `verifyTimeoutMs`), so one target's rollout never holds up the other targets' ticks; then the verification is
   * recorded, the recovery check starts, and how the rollback ended is announced (`decision`: unknown only for an
   * intent whose decision cannot be read, which is then carried out unannounced). `resumed`: a decision reconciled
   * after a restart, whose patch the actuator may find already applied (`skipped`): nobody verified that rollout.
   */
  private async rollback(target: string, releaseId: number, reason: string, expectedRevision: string | undefined, decision: StoredDecision | number, ctx?: EngineContext, resumed = false): Promise<RollbackOutcome> {
    const decisionId = typeof decision === 'number' ? decision : decision.id;
    this.rollingBack.add(target);
    let patched: { outcome: RollbackOutcome; rollbackId: number | undefined };
    try {
      patched = await this.patch(target, decisionId, releaseId, reason, expectedRevision);
    } finally {
      this.rollingBack.delete(target);
    }
    const { outcome, rollbackId } = patched;
    this.settleInBackground(target, outcome, rollbackId, typeof decision === 'number' ? undefined : decision, ctx, resumed);
    return outcome;
  }

  private settleInBackground(target: string, outcome: RollbackOutcome, rollbackId: number | undefined, decision: StoredDecision | undefined, ctx: EngineContext | undefined, resumed = false): void {
    if (rollbackId !== undefined) this.verifying.add(rollbackId);
    const settled = this.settle(target, outcome, rollbackId, decision, ctx, resumed)
      .catch((err: unknown) => this.deps.log.error({ target, decisionId: decision?.id, error: err instanceof Error ? err.message : String(err) }, 'after the rollback: verification or its announcement failed'))
      .finally(() => {
        this.settling.delete(settled);
        if (rollbackId !== undefined) this.verifying.delete(rollbackId);
      });
    this.settling.add(settled);
  }

  private async settle(target: string, outcome: RollbackOutcome, rollbackId: number | undefined, decision: StoredDecision | undefined, ctx: EngineContext | undefined, resumed: boolean): Promise<void> {
    const { log, actuator, options, journal, clock } = this.deps;
    const [namespace, deployment] = target.split('/') as [string, string];
    let verification: { kind: 'complete' | 'failed'; detail: string } | undefined;
    const rolledOut = outcome.kind === 'rolled-back' || (resumed && outcome.kind === 'skipped');
    if (rolledOut) {
      verification = await actuator.verifyRollout({ namespace, deployment }, options.verifyTimeoutMs);
      if (rollbackId !== undefined && journal && !journal.rollbackVerified(rollbackId, verification, clock.now())) {
        log.info({ decisionId: decision?.id, target }, 'rollout already verified by another replica (the previous leader): not announced again');
        return;
      }
      failpoint('after-verification-commit');
      log[verification.kind === 'complete' ? 'info' : 'error']({ decisionId: decision?.id, target, verification }, `rollout ${verification.kind === 'complete' ? 'verified' : 'not verified'}: ${verification.detail}`);
    }
    if (!decision) return;
    // Unless a newer release started while the rollout was verified: its version is the question now.
    const current = this.guards.get(target);
    const checking = rolledOut && verification?.kind === 'complete' && (!current || current.stored.id === decision.releaseId) && this.recoveries.start(target, decision, rollbackId, ctx);
    await this.rollbackFinished(target, decision, outcome, verification, checking);
  }

  private async patch(target: string, decisionId: number, releaseId: number, reason: string, expectedRevision: string | undefined) {
    const { log, metrics, actuator, options, journal, clock } = this.deps;
    const [namespace, deployment] = target.split('/') as [string, string];
    const requestedAt = clock.now();
    let outcome: RollbackOutcome;
    try {
      outcome = await actuator.rollback({ namespace, deployment, decisionId, releaseId, reason, by: 'rollback-guard', dryRun: options.dryRun, ...(expectedRevision !== undefined ? { expectedRevision } : {}) });
    } catch (err) {
      outcome = { kind: 'failed', reason: err instanceof Error ? err.message : String(err) };
    }
    if (outcome.kind === 'rolled-back') failpoint('after-patch');
    metrics.rollbacks.inc({ outcome: outcome.kind });
    const rollbackId = journal?.rollbackAttempted({ namespace, deployment, decisionId, releaseId, requestedAt, finishedAt: clock.now(), by: 'rollback-guard', reason, strategy: this.strategyOf(target), dryRun: options.dryRun, outcome });
    const ok = outcome.kind === 'rolled-back' || outcome.kind === 'would-roll-back' || outcome.kind === 'skipped';
    log[ok ? 'info' : 'error']({ decisionId, target, outcome }, `rollback ${outcome.kind}`);
    return { outcome, rollbackId };
  }

  private strategyOf(target: string): string {
    const [namespace, deployment] = target.split('/') as [string, string];
    return this.targetFor({ namespace, deployment })?.rollback.strategy ?? 'undo';
  }
}
