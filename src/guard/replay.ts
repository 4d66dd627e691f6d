// Replay: drive a ReleaseGuard over recorded time, one tick per step, at the instants the daemon ticks live; after
// a rollback, the recovery check the daemon would run, on the same instants.
import type { Evaluation } from '../core/engine.js';
import { firstInstant } from '../core/interval-grid.js';
import { checksRecovery, type RecoveryOutcome, type RecoveryReading } from '../core/recovery.js';
import type { Release } from '../core/release.js';
import type { Ruleset } from '../core/ruleset.js';
import type { DecisionStore, StableTarget, StoredDecision } from '../ports/decision-store.js';
import type { MetricSource } from '../ports/metric-source.js';
import { RecoveryCheck } from './recovery-check.js';
import type { ReplayInput } from './replay-inputs.js';
import { ReleaseGuard } from './release-guard.js';

export interface ReplayOptions {
  ruleset: Ruleset;
  release: Release;
  /** The Deployment replayed (default the rules file's first target) and its pod selector ({{selector}}). */
  target?: { namespace: string; deployment: string };
  selector?: Record<string, string>;
  /** A canary's stable Deployment, which `stable` thresholds read. */
  stable?: StableTarget;
  source: MetricSource;
  store: DecisionStore;
  sourceName: string;
  stepMs: number;
  /** Last instant evaluated (inclusive), Unix ms. */
  until: number;
  /**
   * When a replayed rollback rolled out, which starts its recovery check: the daemon's records give it (the
   * rollout's verification time); by default the instant of the rollback decision.
   */
  rolloutAt?: (decision: StoredDecision) => number | undefined;
  /** Manual triggers, approvals and declines the release received, each applied at its time (`--from-log`). */
  inputs?: readonly ReplayInput[];
  /** Called with every instant's evaluations, e.g. to count them or to print progress. */
  onEvaluations?: (evaluations: readonly Evaluation[]) => void;
}

/** The recovery check after a replayed rollback: its verdict, or none when the data ended first. */
export interface ReplayedRecovery {
  since: number;
  /** The instant of the verdict, or the last instant judged. */
  at: number;
  outcome?: RecoveryOutcome;
  readings: RecoveryReading[];
}

export interface ReplayResult {
  guard: ReleaseGuard;
  decisions: StoredDecision[];
  instants: number;
  evaluations: number;
  /** Last instant evaluated. */
  lastAt: number;
  recovery?: ReplayedRecovery;
}

export async function replay(options: ReplayOptions): Promise<ReplayResult> {
  const guard = await ReleaseGuard.begin(options);
  const decisions: StoredDecision[] = [];
  let instants = 0;
  let evaluations = 0;
  let lastAt = options.release.startedAt;
  const inputs = [...(options.inputs ?? [])].sort((a, b) => a.at - b.at);
  /** The decision a rollback carried out (an engine's, a trigger's, or the page an approval reverted). */
  let reverted: StoredDecision | undefined;
  // The daemon's instants: every multiple of the step from the first at or after the release start.
  let at = firstInstant(options.release.startedAt, options.stepMs);
  for (; at <= options.until && !guard.over; at += options.stepMs) {
    // What reached the daemon between two instants acted at once, before the next instant was judged.
    while (inputs.length && inputs[0]!.at < at && !guard.over) {
      const input = inputs.shift()!;
      const applied = applyInput(guard, options.store, input, decisions);
      if (applied) decisions.push(...(applied.decision ? [applied.decision] : []));
      if (applied?.reverted) reverted = applied.reverted;
    }
    if (guard.over) break;
    const r = await guard.tick(at);
    instants++;
    evaluations += r.evaluations.length;
    decisions.push(...r.decisions);
    options.onEvaluations?.(r.evaluations);
    lastAt = at;
  }
  reverted ??= decisions.find((d) => d.action === 'rollback' && d.mode === 'enforce');
  const recovery = reverted && guard.releaseState.outcome?.kind === 'rolled-back' ? await replayRecovery(options, guard, reverted, at) : undefined;
  return { guard, decisions, instants, evaluations, lastAt, ...(recovery ? { recovery } : {}) };
}

/**
 * One input, as the daemon acted on it: a trigger is recorded as a decision (an immediate one reverts the release);
 * an approval reverts it (the page's rollback); a decline of a manual page stops its escalation.
 */
function applyInput(guard: ReleaseGuard, store: DecisionStore, input: ReplayInput, decided: readonly StoredDecision[]): { decision?: StoredDecision; reverted?: StoredDecision } | undefined {
  if (input.kind === 'trigger') {
    const decision = guard.trigger(input.at, input.tier, input.note);
    if (input.tier !== 'immediate') return { decision };
    store.closeRelease(guard.stored.id, 'rolled-back', input.at, `rolled back on a ${input.note}`);
    guard.endRolledBack(input.at);
    return { decision, reverted: decision };
  }
  const page = decided.find((d) => d.action === 'page' && d.rule === input.page.rule && d.at === input.page.at);
  if (input.verdict === 'declined') {
    if (input.page.rule === null) guard.closeManualPages([input.page.at]);
    else guard.declineRulePages([{ rule: input.page.rule, pagedAt: input.page.at }]);
    return undefined;
  }
  // Approved: the daemon rolled back at once and ended the release.
  store.closeRelease(guard.stored.id, 'rolled-back', input.at, `rolled back on approval by ${input.by}`);
  guard.endRolledBack(input.at);
  return page ? { reverted: page } : {};
}

/** Ticks the recovery check from instant `from` on, as the daemon would after the rollout, until a verdict. */
async function replayRecovery(options: ReplayOptions, guard: ReleaseGuard, rollback: StoredDecision, from: number): Promise<ReplayedRecovery | undefined> {
  if (!checksRecovery(guard.ctx.ruleset, rollback.rule)) return undefined;
  const check = new RecoveryCheck(guard.ctx, rollback.rule, options.rolloutAt?.(rollback) ?? rollback.at);
  let judged: ReplayedRecovery = { since: check.since, at: check.since, readings: [] };
  for (let at = from; at <= options.until; at += options.stepMs) {
    const step = await check.tick(at, options.source);
    if (!step) continue;
    judged = { since: check.since, at, readings: step.readings, ...(step.outcome ? { outcome: step.outcome } : {}) };
    if (step.outcome) break;
  }
  return judged;
}
