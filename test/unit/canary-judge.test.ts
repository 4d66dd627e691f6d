// The canary judge: each metric's verdict (pass, high, low, no-data) from the samples, the score over the
// metrics with its pass and marginal thresholds, critical metrics, and the engine's reading of a judgement.
import { describe, expect, it } from 'vitest';
import { classifyMetric, judgeCanary, scoreJudgement, type MetricJudgement } from '../../src/core/canary-judge.js';
import type { RangeOutcome } from '../../src/core/query-outcome.js';
import type { JudgeMetric, JudgeRule, JudgeSettings } from '../../src/core/ruleset.js';
import { rules, run } from '../helpers/engine-script.js';

const METRIC: JudgeMetric = { name: 'error-rate', query: 'q', direction: 'increase', critical: false, mustHaveData: false, allowedIncrease: 1, allowedDecrease: 1, criticalIncrease: 1, criticalDecrease: 1, nanStrategy: 'remove' };
const SETTINGS = { tolerance: 0.25, confidence: 0.98 };

/** Deterministic noise (a linear congruential generator), so a "noisy" sample is the same on every run. */
function noisy(seed: number, n: number, mean: number, spread: number): number[] {
  let x = seed;
  return Array.from({ length: n }, () => {
    x = (x * 1103515245 + 12345) % 2 ** 31;
    return mean + ((x / 2 ** 31) * 2 - 1) * spread;
  });
}

describe('canary judge: one metric', () => {
  const cases: { name: string; metric?: Partial<JudgeMetric>; canary: number[]; stable: number[]; verdict: string; reason?: RegExp }[] = [
    { name: 'canary failing 40 % against stable at 0.2 %: high', canary: noisy(1, 10, 0.4, 0.05), stable: noisy(2, 10, 0.002, 0.001), verdict: 'high' },
    { name: 'noisy but from the same distribution: pass', canary: noisy(3, 10, 0.01, 0.008), stable: noisy(4, 10, 0.01, 0.008), verdict: 'pass' },
    { name: 'direction increase: a canary erring less passes', canary: noisy(5, 10, 0.001, 0.0005), stable: noisy(6, 10, 0.02, 0.005), verdict: 'pass', reason: /not higher/ },
    { name: 'direction either: a canary much lower is low', metric: { direction: 'either' }, canary: noisy(5, 10, 0.001, 0.0005), stable: noisy(6, 10, 0.02, 0.005), verdict: 'low' },
    { name: 'direction decrease: throughput halved is low', metric: { direction: 'decrease' }, canary: noisy(7, 10, 50, 5), stable: noisy(8, 10, 100, 5), verdict: 'low' },
    { name: 'allowedIncrease 1.5: a certain 20 % rise is allowed', metric: { allowedIncrease: 1.5 }, canary: noisy(9, 20, 1.2, 0.01), stable: noisy(10, 20, 1, 0.01), verdict: 'pass' },
    { name: 'the same 20 % rise with the default effect size is high', canary: noisy(9, 20, 1.2, 0.01), stable: noisy(10, 20, 1, 0.01), verdict: 'high' },
    { name: 'no canary samples: no-data', canary: [], stable: [1, 2], verdict: 'no-data', reason: /the canary has/ },
    { name: 'only NaN (0/0) samples are removed: no-data', canary: [Number.NaN, Number.NaN], stable: [1, 2], verdict: 'no-data' },
    { name: 'nanStrategy replace: NaN counts as 0', metric: { nanStrategy: 'replace', direction: 'either' }, canary: Array(10).fill(Number.NaN), stable: noisy(11, 10, 1, 0.1), verdict: 'low' },
    { name: 'identical samples: pass', canary: [1, 2, 3], stable: [3, 2, 1], verdict: 'pass', reason: /identical/ },
    { name: 'every value the same on both sides (all tied): pass', canary: [0, 0, 0, 0], stable: [0, 0, 0], verdict: 'pass' },
    { name: 'tiny samples: one against one cannot fail (exact p = 1)', canary: [0.5], stable: [0.001], verdict: 'pass', reason: /too few samples/ },
    { name: 'three against three fully apart: exact p = 0.1, not significant', canary: [0.5, 0.6, 0.7], stable: [0.001, 0.002, 0.003], verdict: 'pass', reason: /p 0\.1 /},
    { name: 'five against five fully apart: exact p = 0.0079, high', canary: [0.5, 0.6, 0.7, 0.8, 0.9], stable: [0.001, 0.002, 0.003, 0.004, 0.005], verdict: 'high' },
    { name: 'ties across the samples (error counts of 0 and 1): high on the normal approximation', canary: [1, 1, 1, 1, 1, 1, 0, 1, 1, 1], stable: [0, 0, 0, 0, 0, 1, 0, 0, 0, 0], verdict: 'high' },
    { name: 'constant on each side, different: high, deterministically', canary: Array(6).fill(0.3), stable: Array(6).fill(0.1), verdict: 'high' },
  ];
  it.each(cases)('$name', ({ metric, canary, stable, verdict, reason }) => {
    const j = classifyMetric({ ...METRIC, ...metric }, SETTINGS, canary, stable);
    expect(j.verdict).toBe(verdict);
    if (reason) expect(j.reason).toMatch(reason);
  });

  it('reports the p-value, the effect size (mean ratio) and the shift', () => {
    const j = classifyMetric(METRIC, SETTINGS, [0.5, 0.6, 0.7, 0.8, 0.9], [0.1, 0.1, 0.2, 0.2, 0.3]);
    expect(j.verdict).toBe('high');
    expect(j.pValue).toBeCloseTo(0.011667312343319386, 12); // scipy 1.17.1: ties, normal approximation
    expect(j.effectSize).toBeCloseTo(0.7 / 0.18, 9);
    expect(j.shift!.estimate).toBeCloseTo(0.5, 9);
    expect([j.canary.n, j.canary.median, j.stable.median]).toEqual([5, 0.7, 0.2]);
  });
});

describe('canary judge: the score', () => {
  const m = (verdict: MetricJudgement['verdict'], extra: Partial<MetricJudgement> = {}): MetricJudgement => ({ metric: `m-${verdict}`, verdict, reason: '', critical: false, criticalFailure: false, missing: false, canary: { n: 1, mean: 1, median: 1 }, stable: { n: 1, mean: 1, median: 1 }, pValue: null, effectSize: null, shift: null, ...extra });
  const T = { pass: 95, marginal: 75 };
  const cases: { name: string; metrics: MetricJudgement[]; result: string; score: number | null }[] = [
    { name: 'every metric passes: 100, pass', metrics: [m('pass'), m('pass')], result: 'pass', score: 100 },
    { name: '3 of 4 pass: 75, marginal (at the threshold)', metrics: [m('pass'), m('pass'), m('pass'), m('high')], result: 'marginal', score: 75 },
    { name: '2 of 3 pass: 66.67, fail', metrics: [m('pass'), m('pass'), m('low')], result: 'fail', score: 66.67 },
    { name: 'a critical failure fails on its own, score 0', metrics: [m('pass'), m('pass'), m('pass'), m('pass'), m('high', { critical: true, criticalFailure: true })], result: 'fail', score: 0 },
    { name: 'no-data metrics are left out of the score', metrics: [m('pass'), m('pass'), m('pass'), m('no-data')], result: 'pass', score: 100 },
    { name: 'half or more without data: no-data (holds; Kayenta would score 0)', metrics: [m('high'), m('no-data')], result: 'no-data', score: 0 },
    { name: 'nothing judged: no-data, no score', metrics: [m('no-data'), m('no-data')], result: 'no-data', score: null },
    { name: 'mustHaveData: a missing metric counts as a failure', metrics: [m('pass'), m('pass'), m('pass'), m('no-data', { missing: true })], result: 'marginal', score: 75 },
  ];
  it.each(cases)('$name', ({ metrics, result, score }) => {
    expect(scoreJudgement(metrics, T)).toMatchObject({ result, score });
  });
});

describe('engine: a judge rule', () => {
  const FILE = `  - name: judge
    tier: immediate
    for: 1m
    judge:
      window: 5m
      metrics:
        - { name: error-rate, query: 'err{deployment="{{deployment}}"}', critical: true }
        - { name: ttfa, query: 'ttfa{deployment="{{deployment}}"}' }
`;
  const canaryFile = () => {
    const rs = rules(FILE);
    // As bindRuleset leaves it for a canary: each metric read for the stable Deployment too.
    const r = rs.rules[0] as JudgeRule;
    return { ...rs, rules: [{ ...r, judge: { ...r.judge, metrics: r.judge.metrics.map((x) => ({ ...x, stableQuery: x.query.replace('{{deployment}}', 'stable') })) } }] };
  };
  const series = (values: number[]): RangeOutcome => ({ kind: 'range', series: [{ labels: {}, values }] });

  it('a failing canary breaches, holds its `for`, and reverts; the evidence has every metric', () => {
    const samples = () => ({ 'canary:error-rate': series(noisy(1, 5, 0.4, 0.05)), 'stable:error-rate': series(noisy(2, 5, 0.002, 0.001)), 'canary:ttfa': series(noisy(3, 5, 0.5, 0.1)), 'stable:ttfa': series(noisy(4, 5, 0.5, 0.1)) });
    const r = run(canaryFile(), {}, { untilS: 90, samples });
    expect(r.summary).toEqual([[60, 'rollback', 'judge']]);
    const d = r.decisions[0]!;
    expect([d.value, d.threshold, d.evidence.comparison]).toEqual([0, 75, 'below']);
    expect(d.evidence.judge).toMatchObject({ result: 'fail', score: 0, pass: 95, marginal: 75 });
    expect(d.evidence.judge!.metrics.map((x) => [x.metric, x.verdict, x.criticalFailure])).toEqual([['error-rate', 'high', true], ['ttfa', 'pass', false]]);
  });

  it('a noisy but healthy canary passes: no decision', () => {
    const samples = () => ({ 'canary:error-rate': series(noisy(5, 10, 0.01, 0.009)), 'stable:error-rate': series(noisy(6, 10, 0.01, 0.009)), 'canary:ttfa': series(noisy(7, 10, 0.5, 0.2)), 'stable:ttfa': series(noisy(8, 10, 0.5, 0.2)) });
    const r = run(canaryFile(), {}, { untilS: 300, samples });
    expect(r.summary).toEqual([]);
    expect(new Set(r.evaluations.map((e) => e.verdict))).toEqual(new Set(['pass']));
  });

  it('a side that could not be read is an error, and holds; a target without a stable Deployment reads no-stable', () => {
    const samples = () => ({ 'canary:error-rate': { kind: 'error', error: 'timeout' } as RangeOutcome, 'stable:error-rate': series([1]), 'canary:ttfa': series([1]), 'stable:ttfa': series([1]) });
    const r = run(canaryFile(), {}, { untilS: 0, samples });
    expect([r.evaluations[0]!.verdict, r.evaluations[0]!.detail]).toEqual(['error', 'error-rate (canary): timeout']);
    expect(run(rules(FILE), {}, { untilS: 0, samples }).evaluations[0]!.verdict).toBe('no-stable');
  });

  it('judgeCanary judges every configured metric, a metric without samples as no-data', () => {
    const settings: JudgeSettings = { windowMs: 600_000, stepMs: 60_000, tolerance: 0.25, confidence: 0.98, pass: 95, marginal: 75, metrics: [METRIC, { ...METRIC, name: 'other' }] };
    const j = judgeCanary(settings, new Map([['error-rate', { canary: [1, 2, 3], stable: [1, 2, 3] }]]));
    expect(j.metrics.map((x) => x.verdict)).toEqual(['pass', 'no-data']);
    expect(j.result).toBe('no-data');
  });
});
