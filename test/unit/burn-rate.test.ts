// SLO burn-rate rules: the workbook's window pairs at their boundaries, one window without data, the tiers the
// pairs take, and the PromQL generated for each window. Table-driven over explicit timestamps.
import { describe, expect, it } from 'vitest';
import { burnRateQuery, errorBudget } from '../../src/core/burn-rate.js';
import { isOutageRule } from '../../src/core/notification-plan.js';
import type { BurnRateRule } from '../../src/core/ruleset.js';
import { rules, run, type Script } from '../helpers/engine-script.js';

const SLO = (extra = '') => `  - name: avail
    tier: immediate${extra}
    slo:
      objective: 99.9
      errors: 'sum(rate(errs[{{window}}]))'
      total: 'sum(rate(reqs[{{window}}]))'
`;

describe('slo: rules become one rule per window pair', () => {
  it("defaults to the workbook's four pairs; the first takes the rule's tier, the others page", () => {
    const rs = rules(SLO());
    expect(rs.rules.map((r) => [r.name, r.tier, (r as BurnRateRule).slo.burnRate])).toEqual([
      ['avail:1h-5m', 'immediate', 14.4],
      ['avail:6h-30m', 'considered', 6],
      ['avail:1d-2h', 'considered', 3],
      ['avail:3d-6h', 'considered', 1],
    ]);
  });

  it('generates the burn rate of each window as PromQL: the error ratio over the window divided by the budget', () => {
    const r = rules(SLO()).rules[0] as BurnRateRule;
    expect(r.query).toBe('((sum(rate(errs[1h]))) / (sum(rate(reqs[1h])))) / 0.001');
    expect(r.shortQuery).toBe('((sum(rate(errs[5m]))) / (sum(rate(reqs[5m])))) / 0.001');
    expect(burnRateQuery({ good: 'sum(rate(ok[{{ window }}]))', total: 'sum(rate(reqs[{{window}}]))' }, '6h', 99.95)).toBe('(1 - ((sum(rate(ok[6h]))) / (sum(rate(reqs[6h]))))) / 0.0005');
    expect([errorBudget(99.9), errorBudget(99), errorBudget(99.99)]).toEqual([0.001, 0.01, 0.0001]);
  });

  it('takes per-pair tiers and windows when given', () => {
    const rs = rules(SLO().replace("      objective: 99.9\n", '      objective: 99.5\n      windows:\n        - { burnRate: 10, long: 30m, short: 5m, tier: considered }\n        - { burnRate: 2, long: 2h, short: 10m, tier: immediate }\n'));
    expect(rs.rules.map((r) => [r.name, r.tier])).toEqual([['avail:30m-5m', 'considered'], ['avail:2h-10m', 'immediate']]);
  });
});

describe('engine: burn-rate window pairs', () => {
  const F = 'avail:1h-5m';
  const S = 'avail:6h-30m';
  const D = 'avail:1d-2h';
  const T = 'avail:3d-6h';
  const quiet: Script = { [S]: { 0: 0 }, [`${S}:short`]: { 0: 0 }, [D]: { 0: 0 }, [`${D}:short`]: { 0: 0 }, [T]: { 0: 0 }, [`${T}:short`]: { 0: 0 } };
  const cases: { name: string; script: Script; want: (string | number)[][]; verdict?: string; extra?: string }[] = [
    { name: '14.4x in both windows is not above 14.4x: pass', script: { ...quiet, [F]: { 0: 14.4 }, [`${F}:short`]: { 0: 14.4 } }, want: [], verdict: 'pass' },
    { name: 'just above 14.4x in both windows: the fast pair reverts', script: { ...quiet, [F]: { 0: 14.41 }, [`${F}:short`]: { 0: 14.41 } }, want: [[0, 'rollback', F]], verdict: 'breach' },
    { name: 'the long window burning but the short one recovered: pass', script: { ...quiet, [F]: { 0: 30 }, [`${F}:short`]: { 0: 14.4 } }, want: [], verdict: 'pass' },
    { name: 'the short window burning but not the long one: pass (a blip)', script: { ...quiet, [F]: { 0: 14 }, [`${F}:short`]: { 0: 100 } }, want: [], verdict: 'pass' },
    { name: 'no data in the short window while the long one burns: no-data, held', script: { ...quiet, [F]: { 0: 30 }, [`${F}:short`]: { 0: null } }, want: [], verdict: 'no-data' },
    { name: 'NaN (0/0, no requests) in the long window: no-data', script: { ...quiet, [F]: { 0: Number.NaN }, [`${F}:short`]: { 0: 30 } }, want: [], verdict: 'no-data' },
    { name: 'an error in one window while the other burns: error, held', script: { ...quiet, [F]: { 0: 30 }, [`${F}:short`]: { 0: 'err' } }, want: [], verdict: 'error' },
    { name: 'one window known below the rate decides, whatever the other: pass', script: { ...quiet, [F]: { 0: 2 }, [`${F}:short`]: { 0: 'err' } }, want: [], verdict: 'pass' },
    { name: 'noData: breach makes a burning long window with an empty short one a breach', script: { ...quiet, [F]: { 0: 30 }, [`${F}:short`]: { 0: null } }, want: [[0, 'rollback', F]], verdict: 'breach', extra: '\n    noData: breach' },
    { name: '6x boundary: 6 passes, 6.01 pages', script: { ...quiet, [F]: { 0: 0 }, [`${F}:short`]: { 0: 0 }, [S]: { 0: 6, 60: 6.01 }, [`${S}:short`]: { 0: 6.01 } }, want: [[60, 'page', S, 1]] },
    { name: '3x over 1d and 2h: 3.01 in both pages', script: { ...quiet, [F]: { 0: 0 }, [`${F}:short`]: { 0: 0 }, [D]: { 0: 3.01 }, [`${D}:short`]: { 0: 3.01 } }, want: [[0, 'page', D, 1]] },
    { name: '1x over 3d and 6h: exactly 1 passes, just above pages', script: { ...quiet, [F]: { 0: 0 }, [`${F}:short`]: { 0: 0 }, [T]: { 0: 1, 30: 1.001 }, [`${T}:short`]: { 0: 1.5 } }, want: [[30, 'page', T, 1]] },
  ];
  it.each(cases)('$name', ({ script, want, verdict, extra }) => {
    const r = run(rules(SLO(extra)), script, { untilS: 90 });
    expect(r.summary).toEqual(want);
    if (verdict) expect(r.evaluations.find((e) => e.rule === F && e.at === r.evaluations[0]!.at)?.verdict).toBe(verdict);
  });

  it("names both windows' burn rates in the evidence; the value is the lower of the two", () => {
    const r = run(rules(SLO()), { ...quiet, [F]: { 0: 16.2 }, [`${F}:short`]: { 0: 20.1 } }, { untilS: 0 });
    const d = r.decisions[0]!;
    expect([d.action, d.value, d.threshold, d.evidence.comparison]).toEqual(['rollback', 16.2, 14.4, 'above']);
    expect(d.evidence.burnRate).toEqual({ objective: 99.9, rate: 14.4, long: { window: '1h', burnRate: 16.2 }, short: { window: '5m', burnRate: 20.1 } });
    expect(d.evidence.query).toBe('((sum(rate(errs[1h]))) / (sum(rate(reqs[1h])))) / 0.001');
  });

  it('a held pair waits its `for` like any rule; notifications.outageRules names the slo rule, not its pairs', () => {
    const r = run(rules(SLO('\n    for: 2m')), { ...quiet, [F]: { 0: 20 }, [`${F}:short`]: { 0: 20 } }, { untilS: 180 });
    expect(r.summary).toEqual([[120, 'rollback', F]]);
    const rs = rules(SLO() + "  - { name: other, tier: immediate, query: 'x', above: 1 }\n", 'notifications:\n  outageRules: [avail]\n');
    expect([isOutageRule(rs.notifications, F), isOutageRule(rs.notifications, 'other')]).toEqual([true, false]);
  });
});
