// The daemon's recovery checks after its rollbacks (checklist 5.3), at most one per target: started when a rollback
// rolled out, or resumed from the decision log after a restart or a takeover; judged at every tick through the
// RecoveryCheck replay runs too; ended by a verdict or by a new revision. A verdict is recorded once across
// replicas (the journal refuses a second), then logged and announced.
import type { Logger } from 'pino';
import { failpoint } from '../adapters/failpoint/failpoint.js';
import { formatDuration } from '../core/duration.js';
import type { EngineContext } from '../core/engine.js';
import { checksRecovery } from '../core/recovery.js';
import type { Ruleset } from '../core/ruleset.js';
import { toRfc3339 } from '../core/time-format.js';
import { RecoveryCheck } from '../guard/recovery-check.js';
import type { ActionJournal } from '../ports/action-journal.js';
import type { Clock } from '../ports/clock.js';
import type { DecisionStore, StableTarget, StoredDecision } from '../ports/decision-store.js';
import type { MetricSource } from '../ports/metric-source.js';
import type { GuardEventSink } from './guard-events.js';

export interface RecoveryWatchDeps {
  journal?: ActionJournal;
  store: DecisionStore;
  source: MetricSource;
  events: GuardEventSink;
  clock: Clock;
  log: Logger;
  /** The rules in force for a target, bound with a release's selector and stable Deployment. */
  rulesFor: (target: string, selector: Record<string, string> | undefined, stable: StableTarget | undefined) => Ruleset | undefined;
}

interface Watched {
  check: RecoveryCheck;
  decision: StoredDecision;
  rollbackId: number | undefined;
}

const key = (t: { namespace: string; deployment: string }) => `${t.namespace}/${t.deployment}`;

export class RecoveryWatch {
  private readonly watched = new Map<string, Watched>();

  constructor(private readonly deps: RecoveryWatchDeps) {}

  /**
   * Checks a restart interrupted (a rollback that rolled out, with no verdict yet, since `since`) carry on: rebuilt
   * from the decision log with the release's own baselines. One past its deadline is judged at the next tick.
   */
  resume(since: number): void {
    const { journal, store, log, clock } = this.deps;
    if (!journal?.unjudgedRecoveries || !store.releaseContext || !store.decision) return;
    for (const u of journal.unjudgedRecoveries(since)) {
      const target = key(u);
      if ([...this.watched.values()].some((r) => r.rollbackId === u.rollbackId)) continue;
      const context = store.releaseContext(u.releaseId);
      const ruleset = this.deps.rulesFor(target, context?.selector, context?.stable);
      const decision = store.decision(u.decisionId);
      if (!ruleset || !context || !decision || !checksRecovery(ruleset, decision.rule)) continue;
      // Long past its deadline (the daemon was down): a verdict on today's data would speak for then. Left unjudged.
      if (clock.now() > u.verifiedAt + ruleset.recoveryMs + 3600_000) continue;
      this.watched.set(target, { check: new RecoveryCheck({ ruleset, ...context }, decision.rule, u.verifiedAt), decision, rollbackId: u.rollbackId });
      log.info({ target, decisionId: u.decisionId, since: toRfc3339(u.verifiedAt) }, 'resumed the recovery check of a rollback from the decision log');
    }
  }

  /**
   * A rollback that rolled out now: judge whether the service recovered, on the release's own rules and baselines
   * (`ctx`, or rebuilt from the decision log for a rollback reconciled after a restart).
   */
  /** Starts judging recovery after `decision`'s rollback rolled out; false when the rules give nothing to judge. */
  start(target: string, decision: StoredDecision, rollbackId: number | undefined, ctx: EngineContext | undefined): boolean {
    const stored = ctx ? undefined : this.deps.store.releaseContext?.(decision.releaseId);
    const ruleset = stored ? this.deps.rulesFor(target, stored.selector, stored.stable) : undefined;
    const context = ctx ?? (ruleset && stored ? { ruleset, ...stored } : undefined);
    if (!context || !checksRecovery(context.ruleset, decision.rule)) return false;
    this.watched.set(target, { check: new RecoveryCheck(context, decision.rule, this.deps.clock.now()), decision, rollbackId });
    this.deps.log.info({ target, decisionId: decision.id, within: formatDuration(context.ruleset.recoveryMs) }, 'judging recovery after the rollback');
    return true;
  }

  /** Ends a target's check without a verdict (a new revision is the question now); true if there was one. */
  end(target: string): boolean {
    return this.watched.delete(target);
  }

  /** Each tick: every rollback under watch is judged once; a verdict is recorded, logged and announced. */
  async tick(now: number): Promise<void> {
    const { journal, log, events, source } = this.deps;
    for (const [target, r] of [...this.watched]) {
      // Undefined for a tick that began before the rollout was verified (in the background): it reads the old version.
      const judged = await r.check.tick(now, source);
      const outcome = judged?.outcome;
      if (!judged || !outcome || this.watched.get(target) !== r) continue;
      const { readings } = judged;
      this.watched.delete(target);
      // Another replica may have judged it while this one was not the leader: its verdict stands, said once.
      if (r.rollbackId !== undefined && journal && !journal.recoveryJudged(r.rollbackId, outcome, readings, now)) continue;
      failpoint('after-recovery-commit');
      log[outcome === 'recovered' ? 'info' : 'error']({ target, decisionId: r.decision.id, outcome, readings, after: formatDuration(now - r.check.since) }, `recovery after the rollback: ${outcome}`);
      await events.emit({ kind: 'recovery-judged', decision: r.decision, target, at: now, since: r.check.since, outcome, readings });
    }
  }
}
