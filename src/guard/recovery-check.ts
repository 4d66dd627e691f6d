// The recovery check after a rollback (checklist 5.3), judged at each evaluation instant on the release's own
// rules and baselines. The daemon ticks it live after the rollout is verified; replay ticks it after a replayed
// rollback, on the same instants: what one judges on some data, the other judges too.
import type { EngineContext } from '../core/engine.js';
import { readRecovery, recoveryOutcome, recoveryRules, type RecoveryOutcome, type RecoveryReading } from '../core/recovery.js';
import type { MetricSource } from '../ports/metric-source.js';
import { observe } from './observe.js';

export interface RecoveryStep {
  readings: RecoveryReading[];
  /** The verdict, once there is one (then the check is over). */
  outcome?: RecoveryOutcome;
}

export class RecoveryCheck {
  /**
   * `trigger`: the rule whose rollback this is (judged too); `since`: when the rollback rolled out; the check ends
   * `ctx.ruleset.recoveryMs` later.
   */
  constructor(
    readonly ctx: EngineContext,
    readonly trigger: string | null,
    readonly since: number,
  ) {}

  get until(): number {
    return this.since + this.ctx.ruleset.recoveryMs;
  }

  /** Judges instant `now`; undefined for an instant at or before the rollout (it would read the old version). */
  async tick(now: number, source: MetricSource): Promise<RecoveryStep | undefined> {
    if (now <= this.since) return undefined;
    const observations = await observe(source, recoveryRules(this.ctx.ruleset, this.trigger), now - this.ctx.ruleset.evaluationOffsetMs);
    const readings = readRecovery(this.ctx, observations, this.trigger);
    const outcome = recoveryOutcome(readings, now, this.until);
    return outcome ? { readings, outcome } : { readings };
  }
}
