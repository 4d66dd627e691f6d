// The canary judge: each metric's canary samples against the stable Deployment's by a Mann-Whitney U test, then
// a score over the metrics, the way Spinnaker Kayenta's NetflixACAJudge does (MannWhitneyClassifier,
// WeightedSumScorer, ThresholdScoreClassifier), without Spinnaker. Pure. Where it departs from Kayenta, and why:
// - No-data never fails a judgement by itself (rollback-guard's rule: unknown is not a reason to revert), unless
//   the metric says `mustHaveData`. Kayenta scores 0 when half the metrics have no data; here the judgement is
//   then no-data, which holds the rule's state.
// - Kayenta adds random noise when each side is constant, for its root finder; the interval here needs none, so
//   the judgement stays deterministic (replay must decide what the daemon decided).
// - The shift estimate is the median of pairwise differences (Hodges-Lehmann), not a root finder's approximation.
// - High or low also needs the U test's p-value below 1 - confidence: Kayenta judges one sample against one as
//   high when they differ (its interval is then the one difference); an exact test says p = 1.
import { mannWhitneyU, shiftInterval } from './mann-whitney.js';
import type { JudgeMetric, JudgeSettings } from './ruleset.js';

export type MetricVerdict = 'pass' | 'high' | 'low' | 'no-data';

export interface MetricJudgement {
  metric: string;
  verdict: MetricVerdict;
  /** Why, in a few words: `canary has no samples`, `identical samples`, `interval [0.02, 0.05] above 0.004`. */
  reason: string;
  critical: boolean;
  /** This metric failed the judgement on its own (a critical metric high or low past its critical ratio). */
  criticalFailure: boolean;
  /** A `mustHaveData` metric without data: counted as a failure. */
  missing: boolean;
  canary: SampleSummary;
  stable: SampleSummary;
  /** Two-sided Mann-Whitney p-value (null when not tested). */
  pValue: number | null;
  /** Mean ratio canary / stable (null when a mean is 0 or a side is empty). */
  effectSize: number | null;
  /** Hodges-Lehmann shift canary - stable with its confidence interval. */
  shift: { estimate: number; low: number; high: number } | null;
}

export interface SampleSummary {
  n: number;
  mean: number | null;
  median: number | null;
}

export type JudgementResult = 'pass' | 'marginal' | 'fail' | 'no-data';

export interface CanaryJudgement {
  result: JudgementResult;
  /** 0-100: the share of judged metrics that passed; 0 when a critical metric failed. Null: no metric judged. */
  score: number | null;
  metrics: MetricJudgement[];
}

function summary(values: readonly number[]): SampleSummary {
  if (values.length === 0) return { n: 0, mean: null, median: null };
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >>> 1;
  return { n: values.length, mean: values.reduce((s, v) => s + v, 0) / values.length, median: sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2 };
}

const mean = (v: readonly number[]) => v.reduce((s, x) => s + x, 0) / v.length;

/** One metric: canary samples against stable samples (NaN handled as the metric says). */
export function classifyMetric(m: JudgeMetric, settings: Pick<JudgeSettings, 'tolerance' | 'confidence'>, canaryIn: readonly number[], stableIn: readonly number[]): MetricJudgement {
  const clean = (v: readonly number[]) => (m.nanStrategy === 'replace' ? v.map((x) => (Number.isNaN(x) ? 0 : x)) : v.filter((x) => !Number.isNaN(x)));
  const canary = clean(canaryIn);
  const stable = clean(stableIn);
  const base = { metric: m.name, critical: m.critical, criticalFailure: false, missing: false, canary: summary(canary), stable: summary(stable), pValue: null, effectSize: null, shift: null };
  if (canary.length === 0 || stable.length === 0) {
    const which = canary.length === 0 && stable.length === 0 ? 'neither side has' : canary.length === 0 ? 'the canary has' : 'the stable Deployment has';
    return { ...base, verdict: 'no-data', reason: `${which} samples`, missing: m.mustHaveData };
  }
  const sc = [...canary].sort((a, b) => a - b);
  const ss = [...stable].sort((a, b) => a - b);
  if (sc.length === ss.length && sc.every((v, i) => v === ss[i])) return { ...base, verdict: 'pass', reason: 'identical samples' };
  if (sc[0] === sc[sc.length - 1] && ss[0] === ss[ss.length - 1] && sc[0] === ss[0]) return { ...base, verdict: 'pass', reason: 'every sample has the same value' };

  const test = mannWhitneyU(canary, stable);
  const shift = shiftInterval(canary, stable, settings.confidence);
  const mc = mean(canary);
  const ms = mean(stable);
  const effectSize = mc === 0 || ms === 0 ? null : mc / ms;
  const judged = { ...base, pValue: test.p, effectSize, shift: shift ?? null };
  if (!shift) return { ...judged, verdict: 'pass', reason: 'every sample has the same value' };
  // Kayenta: the interval must clear a band of `tolerance` x the estimate around 0, so a shift that is certain
  // but tiny against its own size still passes; then the mean ratio must reach the allowed change.
  const bound = settings.tolerance * Math.abs(shift.estimate);
  const interval = `interval [${fmt(shift.low)}, ${fmt(shift.high)}]`;
  // Unlike Kayenta, the U test's own p-value must be significant too: the normal-approximation interval of one
  // sample against one (or three against three) excludes 0 though no test could tell them apart.
  const significant = test.p < 1 - settings.confidence;
  if (!significant && (shift.low > bound || shift.high < -bound)) return { ...judged, verdict: 'pass', reason: `${interval}, but p ${fmt(test.p)} is not below ${fmt(1 - settings.confidence)} (too few samples to tell)` };
  const up = m.direction !== 'decrease' && shift.low > bound && (effectSize === null || effectSize >= m.allowedIncrease);
  const down = m.direction !== 'increase' && shift.high < -bound && (effectSize === null || effectSize <= m.allowedDecrease);
  if (up) {
    const criticalFailure = m.critical && (effectSize === null || effectSize >= m.criticalIncrease);
    return { ...judged, verdict: 'high', reason: `${interval} above ${fmt(bound)}`, criticalFailure };
  }
  if (down) {
    const criticalFailure = m.critical && (effectSize === null || effectSize <= m.criticalDecrease);
    return { ...judged, verdict: 'low', reason: `${interval} below ${fmt(-bound)}`, criticalFailure };
  }
  return { ...judged, verdict: 'pass', reason: `${interval} within ±${fmt(bound)}${m.direction === 'either' ? '' : ` or not ${m.direction === 'increase' ? 'higher' : 'lower'}`}` };
}

function fmt(v: number): string {
  return Number.isInteger(v) ? String(v) : Number(v.toPrecision(4)).toString();
}

/**
 * The score over the metrics (Kayenta's WeightedSumScorer with one group): passed / (passed + high + low + missing)
 * x 100, no-data metrics left out; 0 when a critical metric failed. pass at or above `pass`, marginal at or above
 * `marginal`, else fail. No metric judged (all no-data, none `mustHaveData`), or half of them or more without data:
 * no-data, which holds the rule (a judgement on too little is not one).
 */
export function scoreJudgement(metrics: MetricJudgement[], thresholds: Pick<JudgeSettings, 'pass' | 'marginal'>): CanaryJudgement {
  const failedCritically = metrics.some((m) => m.criticalFailure);
  const counted = metrics.filter((m) => m.verdict !== 'no-data' || m.missing);
  const passed = counted.filter((m) => m.verdict === 'pass').length;
  const noData = metrics.filter((m) => m.verdict === 'no-data' && !m.missing).length;
  if (failedCritically) return { result: 'fail', score: 0, metrics };
  if (counted.length === 0 || noData * 2 >= metrics.length) return { result: 'no-data', score: counted.length ? round2((passed / counted.length) * 100) : null, metrics };
  const score = round2((passed / counted.length) * 100);
  return { result: score >= thresholds.pass ? 'pass' : score >= thresholds.marginal ? 'marginal' : 'fail', score, metrics };
}

const round2 = (v: number) => Math.round(v * 100) / 100;

/** Every metric judged and scored. */
export function judgeCanary(settings: JudgeSettings, samples: ReadonlyMap<string, { canary: readonly number[]; stable: readonly number[] }>): CanaryJudgement {
  const metrics = settings.metrics.map((m) => {
    const s = samples.get(m.name) ?? { canary: [], stable: [] };
    return classifyMetric(m, settings, s.canary, s.stable);
  });
  return scoreJudgement(metrics, settings);
}
