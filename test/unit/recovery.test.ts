// The recovery verdict after a rollback (checklist 5.3), over explicit instants.
import { describe, expect, it } from 'vitest';
import { readRecovery, recoveryOutcome, recoveryRules, type RecoveryReading } from '../../src/core/recovery.js';
import { rules, T0 } from '../helpers/engine-script.js';

const r = (rule: string, verdict: RecoveryReading['verdict']): RecoveryReading => ({ rule, verdict, value: null, threshold: null });
const UNTIL = T0 + 600_000;

describe('recovery after a rollback', () => {
  it.each([
    ['every rule passes: recovered at once', [r('a', 'pass'), r('b', 'pass')], T0, 'recovered'],
    ['a breach before the time is up: keep watching (rate windows still hold the bad minutes)', [r('a', 'breach'), r('b', 'pass')], T0, undefined],
    ['a rule that cannot be read before the time is up: keep watching', [r('a', 'no-data'), r('b', 'pass')], UNTIL - 1, undefined],
    ['still breaching when the time is up: not recovered', [r('a', 'breach'), r('b', 'error')], UNTIL, 'not-recovered'],
    ['unreadable when the time is up: unknown, never recovered', [r('a', 'no-traffic'), r('b', 'pass')], UNTIL, 'unknown'],
    ['no rules to judge: unknown', [], UNTIL, 'unknown'],
  ] as const)('%s', (_name, readings, at, want) => {
    expect(recoveryOutcome(readings, at, UNTIL)).toBe(want);
  });

  it('is judged on the enforced immediate rules only, with the release baselines', () => {
    const rs = rules(
      `  - { name: err, tier: immediate, query: 'err', above: 0.05 }\n  - { name: lat, tier: immediate, query: 'lat', above: { baseline: p95, factor: 3 } }\n  - { name: sus, tier: considered, query: 'err', above: 0.01 }\n  - { name: shadow, tier: immediate, query: 'x', above: 1, mode: shadow }\n`,
      'baselines:\n  p95: { query: p95 }\n',
    );
    expect(recoveryRules(rs).map((x) => x.name)).toEqual(['err', 'lat']);
    // An approved considered rollback is judged on its own rule too (its threshold, not its hold); never a shadow rule.
    expect(recoveryRules(rs, 'sus').map((x) => x.name)).toEqual(['err', 'lat', 'sus']);
    expect(recoveryRules(rs, 'shadow').map((x) => x.name)).toEqual(['err', 'lat']);
    const ctx = { ruleset: rs, release: { startedAt: T0, severity: 'minor' as const, windowMs: 3_600_000 }, baselines: { p95: { kind: 'value' as const, value: 0.4, labels: {} } } };
    const one = (v: number) => ({ value: { kind: 'series' as const, series: [{ labels: {}, value: v }] } });
    const readings = readRecovery(ctx, new Map([['err', one(0.01)], ['lat', one(1.5)]]));
    expect(readings).toEqual([
      { rule: 'err', verdict: 'pass', value: 0.01, threshold: 0.05 },
      { rule: 'lat', verdict: 'breach', value: 1.5, threshold: expect.closeTo(1.2, 9) },
    ]);
  });
});
