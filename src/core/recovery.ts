// After the guard's rollback has rolled out: did the service recover (checklist 5.3, "error rate normalized,
// latency normalized")? The release's enforced immediate rules are judged as they were, with the release's own
// baselines, until every one passes (recovered) or the time runs out (not recovered, or unknown). Pure.
import { judge, type EngineContext, type Observation, type Verdict } from './engine.js';
import type { Rule, Ruleset } from './ruleset.js';

export type RecoveryOutcome = 'recovered' | 'not-recovered' | 'unknown';

export interface RecoveryReading {
  rule: string;
  verdict: Verdict;
  value: number | null;
  threshold: number | null;
  detail?: string;
}

/**
 * The rules recovery is judged on: those whose breach would have reverted the release, and the rule that did
 * revert it (an approved considered rule, say 1 % errors, is judged on its own threshold too; its hold is not
 * waited for again).
 */
export function recoveryRules(ruleset: Ruleset, trigger?: string | null): Rule[] {
  return ruleset.rules.filter((r) => (r.tier === 'immediate' && r.mode === 'enforce') || (trigger != null && r.name === trigger && r.mode !== 'shadow'));
}

/** Whether a rollback caused by `trigger` gets a recovery check: on, and something to judge. */
export function checksRecovery(ruleset: Ruleset, trigger?: string | null): boolean {
  return ruleset.recoveryMs > 0 && recoveryRules(ruleset, trigger).length > 0;
}

export function readRecovery(ctx: EngineContext, observations: ReadonlyMap<string, Observation>, trigger?: string | null): RecoveryReading[] {
  return recoveryRules(ctx.ruleset, trigger).map((rule) => {
    const j = judge(ctx, rule, observations.get(rule.name));
    return { rule: rule.name, verdict: j.verdict, value: j.value, threshold: j.threshold, ...(j.detail ? { detail: j.detail } : {}) };
  });
}

/**
 * The verdict at `at`, or undefined to keep watching. Recovered as soon as every rule passes: rate windows still
 * hold the bad minutes for a while after the rollout, so a breach is only final when the time is up. A rule that
 * cannot be read then makes it unknown, never recovered.
 */
export function recoveryOutcome(readings: readonly RecoveryReading[], at: number, until: number): RecoveryOutcome | undefined {
  if (readings.length > 0 && readings.every((r) => r.verdict === 'pass')) return 'recovered';
  if (at < until) return undefined;
  return readings.some((r) => r.verdict === 'breach') ? 'not-recovered' : 'unknown';
}
