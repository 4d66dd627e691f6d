// A canary judged against its stable Deployment at the same instant: `above: { stable: true, factor, plus }`.
import type { ThresholdRule } from '../../src/core/ruleset.js';
import { describe, expect, it } from 'vitest';
import { bindRuleset } from '../../src/core/bind-ruleset.js';
import { initialState, judge, step, type EngineContext, type Observation } from '../../src/core/engine.js';
import { parseRules } from '../../src/core/parse-rules.js';
import type { QueryOutcome } from '../../src/core/query-outcome.js';
import type { RulesInvalidError } from '../../src/errors/rules-invalid-error.js';

const T0 = Date.parse('2026-11-20T14:00:00Z');
const FILE = `version: 1
targets:
  - { namespace: voice-production, deployment: voice-server }
  - { namespace: voice-production, deployment: voice-server-canary, compareTo: voice-server }
rules:
  - name: canary-errors
    tier: immediate
    query: 'errors{deployment="{{deployment}}"}'
    above: { stable: true, factor: 2, plus: 0.01 }
    for: 30s
  - name: errors
    tier: immediate
    query: 'errors{deployment="{{deployment}}"}'
    above: 0.05
`;
const file = parseRules(FILE, 'canary.yaml');
const canary = bindRuleset(file, { namespace: 'voice-production', deployment: 'voice-server-canary', stable: { namespace: 'voice-production', deployment: 'voice-server' } });
const ctx: EngineContext = { ruleset: canary, release: { startedAt: T0, severity: 'minor', windowMs: 3600_000 }, baselines: {} };
const rule = canary.rules[0]!;
const v = (value: number): QueryOutcome => ({ kind: 'series', series: [{ labels: {}, value }] });

describe('canary vs stable', () => {
  it('binds the same query for the stable Deployment; a target without compareTo does not have the rule', () => {
    expect([(rule as ThresholdRule).query, (rule as ThresholdRule).stableQuery]).toEqual(['errors{deployment="voice-server-canary"}', 'errors{deployment="voice-server"}']);
    expect(bindRuleset(file, { namespace: 'voice-production', deployment: 'voice-server' }).rules.map((r) => r.name)).toEqual(['errors']);
    const unknown = bindRuleset(parseRules(FILE.replace('errors{deployment="{{deployment}}"}\'\n    above: { stable', 'errors{ {{selector}} }\'\n    above: { stable'), 'c.yaml'), { namespace: 'voice-production', deployment: 'voice-server-canary', selector: { app: 'c' }, stable: { namespace: 'voice-production', deployment: 'voice-server' } });
    expect(unknown.rules[0]).toMatchObject({ query: 'errors{ app="c" }', stableProblem: expect.stringContaining('pod selector of voice-production/voice-server is not known') });
  });

  it.each([
    // canary, stable -> verdict, threshold (stable x 2 + 0.01)
    [v(0.4), v(0.002), 'breach', 0.014],
    [v(0.012), v(0.002), 'pass', 0.014],
    [v(0.03), v(0.01), 'pass', 0.03], // strictly above: equal passes
  ] as const)('canary %j against stable %j: %s', (c, s, verdict, threshold) => {
    const j = judge(ctx, rule, { value: c, stable: s });
    expect(j.verdict).toBe(verdict);
    expect(j.threshold).toBeCloseTo(threshold, 12);
  });

  it.each<[QueryOutcome, RegExp]>([
    [{ kind: 'empty' }, /stable: no data/],
    [{ kind: 'error', error: 'timeout' }, /stable: .*timeout/],
    [{ kind: 'series', series: [{ labels: { pod: 'a' }, value: 1 }, { labels: { pod: 'b' }, value: 2 }] }, /stable: .*2 series/],
  ])('missing stable data (%j) is no-stable: never healthy, never a breach', (stable, detail) => {
    const j = judge(ctx, rule, { value: v(0.9), stable });
    expect(j).toMatchObject({ verdict: 'no-stable', value: null, threshold: null });
    expect(j.detail).toMatch(detail);
  });

  it('no-stable holds the hold clock: a breach, a gap, a breach fires at 30 s as two breaches in a row would', () => {
    let state = initialState(canary);
    const at = (s: number) => T0 + s * 1000;
    const obs = (canaryValue: number, stable: QueryOutcome): ReadonlyMap<string, Observation> => new Map([['canary-errors', { value: v(canaryValue), stable }], ['errors', { value: v(0.04) }]]);
    const verdicts: string[] = [];
    for (const [s, stable] of [[0, v(0.002)], [15, { kind: 'empty' } as QueryOutcome], [30, v(0.002)]] as const) {
      const r = step(ctx, state, at(s), obs(0.4, stable));
      state = r.state;
      verdicts.push(`${r.evaluations[0]!.verdict}:${r.evaluations[0]!.state}${r.decisions.length ? `:${r.decisions[0]!.action}` : ''}`);
    }
    expect(verdicts).toEqual(['breach:pending', 'no-stable:pending', 'breach:firing:rollback']);
  });

  it('`check` refuses a compareTo that is not one of the file\'s targets, or the target itself', () => {
    const problems = (text: string) => {
      try {
        parseRules(text, 'bad.yaml');
        return [];
      } catch (err) {
        return (err as RulesInvalidError).problems.map((p) => p.message);
      }
    };
    expect(problems(FILE.replace('compareTo: voice-server }', 'compareTo: voice-server-stable }'))).toEqual([expect.stringContaining('`compareTo: voice-server-stable` is not one of this file\'s targets in namespace voice-production')]);
    expect(problems(FILE.replace('compareTo: voice-server }', 'compareTo: voice-server-canary }'))).toEqual([expect.stringContaining('names the Deployment itself')]);
  });
});
