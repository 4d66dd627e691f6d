import { describe, expect, it } from 'vitest';
import { rules, run, T0, type Script } from '../helpers/engine-script.js';

const ERR_IMMEDIATE = `  - { name: err-critical, tier: immediate, query: 'err', above: 0.05 }\n`;
const ERR_HELD = `  - { name: err-critical, tier: immediate, query: 'err', above: 0.05, for: 1m }\n`;
const SUSTAINED = `  - { name: err-sustained, tier: considered, query: 'err5m', above: 0.01, for: 15m }\n`;

describe('engine: thresholds, tiers and the hold duration', () => {
  const cases: { name: string; body: string; script: Script; untilS: number; want: (string | number)[][] }[] = [
    { name: 'value equal to the threshold passes (strictly above)', body: ERR_IMMEDIATE, script: { 'err-critical': { 0: 0.05 } }, untilS: 60, want: [] },
    { name: 'immediate for 0s: rollback at the first breaching instant', body: ERR_IMMEDIATE, script: { 'err-critical': { 0: 0.01, 30: 0.0501 } }, untilS: 120, want: [[30, 'rollback', 'err-critical']] },
    { name: 'for 1m holds: pending at 0..45, fires at 60', body: ERR_HELD, script: { 'err-critical': { 0: 0.08 } }, untilS: 300, want: [[60, 'rollback', 'err-critical']] },
    { name: 'a passing instant resets the hold', body: ERR_HELD, script: { 'err-critical': { 0: 0.08, 45: 0.01, 60: 0.08 } }, untilS: 300, want: [[120, 'rollback', 'err-critical']] },
    {
      name: 'below: breaches when strictly less',
      body: `  - { name: outage, tier: immediate, query: 'up', below: 1 }\n`,
      script: { outage: { 0: 1, 15: 0.5 } },
      untilS: 60,
      want: [[15, 'rollback', 'outage']],
    },
    {
      name: 'considered: page at level 1 when it fires; no rollback',
      body: SUSTAINED,
      script: { 'err-sustained': { 0: 0.02 } },
      untilS: 900,
      want: [[900, 'page', 'err-sustained', 1]],
    },
    {
      name: 'sustained 15m held: 14m45s of breach is not enough',
      body: SUSTAINED,
      script: { 'err-sustained': { 0: 0.02, 885: 0.001 } },
      untilS: 1800,
      want: [],
    },
  ];
  it.each(cases)('$name', ({ body, script, untilS, want }) => {
    expect(run(rules(body), script, { untilS }).summary).toEqual(want);
  });

  it('after a rollback the release is over: nothing more is evaluated or decided', () => {
    const r = run(rules(ERR_IMMEDIATE + SUSTAINED), { 'err-critical': { 0: 0.2 }, 'err-sustained': { 0: 0.2 } }, { untilS: 3600 });
    expect(r.summary).toEqual([[0, 'rollback', 'err-critical']]);
    expect(r.state.outcome).toEqual({ kind: 'rolled-back', at: T0 });
    expect(new Set(r.evaluations.map((e) => e.at))).toEqual(new Set([T0]));
  });

  it('two immediate rules firing at once: one rollback naming the first, the other in evidence', () => {
    const body = ERR_IMMEDIATE + `  - { name: sessions-critical, tier: immediate, query: 'sess', above: 0.1 }\n`;
    const r = run(rules(body), { 'err-critical': { 0: 0.2 }, 'sessions-critical': { 0: 0.5 } }, { untilS: 60 });
    expect(r.summary).toEqual([[0, 'rollback', 'err-critical']]);
    expect(r.decisions[0]!.evidence.alsoFiring).toEqual(['sessions-critical']);
  });
});

describe('engine: values that are not numbers', () => {
  const cases: { name: string; body: string; script: Script; want: (string | number)[][]; verdicts?: string[] }[] = [
    { name: 'empty result is no data, not healthy and not a breach', body: ERR_IMMEDIATE, script: { 'err-critical': { 0: null } }, want: [], verdicts: ['no-data'] },
    { name: 'NaN is no data', body: ERR_IMMEDIATE, script: { 'err-critical': { 0: Number.NaN } }, want: [], verdicts: ['no-data'] },
    {
      name: 'noData: breach makes an empty result a breach',
      body: `  - { name: outage, tier: immediate, query: 'up', below: 1, noData: breach }\n`,
      script: { outage: { 0: 3, 30: null } },
      want: [[30, 'rollback', 'outage']],
      verdicts: ['pass', 'pass', 'breach'],
    },
    { name: '+Inf compares as a number (above)', body: ERR_IMMEDIATE, script: { 'err-critical': { 0: Number.POSITIVE_INFINITY } }, want: [[0, 'rollback', 'err-critical']] },
    { name: '-Inf compares as a number (not above)', body: ERR_IMMEDIATE, script: { 'err-critical': { 0: Number.NEGATIVE_INFINITY } }, want: [], verdicts: ['pass'] },
    { name: 'a query error is never a reason to revert', body: ERR_IMMEDIATE, script: { 'err-critical': { 0: 'err' } }, want: [], verdicts: ['error'] },
  ];
  it.each(cases)('$name', ({ body, script, want, verdicts }) => {
    const r = run(rules(body), script, { untilS: 60 });
    expect(r.summary).toEqual(want);
    if (verdicts) expect(r.evaluations.slice(0, verdicts.length).map((e) => e.verdict)).toEqual(verdicts);
  });

  it('unknown instants hold the state: a hold clock survives a gap and fires when the breach is seen again', () => {
    // Prometheus keeps alert state across a failed evaluation; so do we (docs/adr/0002).
    const r = run(rules(ERR_HELD), { 'err-critical': { 0: 0.08, 15: 'err', 30: null, 45: 0.08 } }, { untilS: 120 });
    expect(r.summary).toEqual([[60, 'rollback', 'err-critical']]);
    expect(r.evaluations.map((e) => e.state).slice(0, 5)).toEqual(['pending', 'pending', 'pending', 'pending', 'firing']);
  });

  it('a firing considered rule stays firing (page open) through no data, and resolves only on a passing value', () => {
    const r = run(rules(`  - { name: lat, tier: considered, query: 'q', above: 1 }\n`), { lat: { 0: 2, 60: null, 120: 0.5 } }, { untilS: 150, windowS: 3600 });
    expect(r.summary).toEqual([
      [0, 'page', 'lat', 1],
      [120, 'resolve', 'lat', 1],
    ]);
  });

  it('several series: breaches if any does; evidence names the worst series', () => {
    const r = run(rules(ERR_IMMEDIATE), { 'err-critical': { 0: [[{ pod: 'a' }, 0.01], [{ pod: 'b' }, 0.09], [{ pod: 'c' }, 0.07], [{ pod: 'd' }, Number.NaN]] } }, { untilS: 0 });
    expect(r.summary).toEqual([[0, 'rollback', 'err-critical']]);
    expect(r.decisions[0]!.value).toBe(0.09);
    expect(r.decisions[0]!.evidence.labels).toEqual({ pod: 'b' });
  });

  it('several series none breaching: passes with the value closest to the threshold', () => {
    const r = run(rules(ERR_IMMEDIATE), { 'err-critical': { 0: [[{ pod: 'a' }, 0.01], [{ pod: 'b' }, 0.04]] } }, { untilS: 0 });
    expect(r.evaluations[0]).toMatchObject({ verdict: 'pass', value: 0.04, labels: { pod: 'b' } });
  });
});

describe('engine: traffic floor (when)', () => {
  const body = `  - { name: err-critical, tier: immediate, query: 'err', above: 0.05, when: { query: 'rps', above: 1 } }\n`;
  const cases: { name: string; script: Script; want: (string | number)[][]; verdict: string }[] = [
    { name: 'floor met: counts', script: { 'err-critical': { 0: 0.3 }, 'err-critical:when': { 0: 5 } }, want: [[0, 'rollback', 'err-critical']], verdict: 'breach' },
    { name: 'floor not met: three requests are not a release to revert', script: { 'err-critical': { 0: 0.33 }, 'err-critical:when': { 0: 0.05 } }, want: [], verdict: 'no-traffic' },
    { name: 'floor exactly at the bound is not met (strict)', script: { 'err-critical': { 0: 0.33 }, 'err-critical:when': { 0: 1 } }, want: [], verdict: 'no-traffic' },
    { name: 'floor query empty: no traffic', script: { 'err-critical': { 0: 0.33 }, 'err-critical:when': { 0: null } }, want: [], verdict: 'no-traffic' },
    { name: 'floor query failing: error, not a breach', script: { 'err-critical': { 0: 0.33 }, 'err-critical:when': { 0: 'err' } }, want: [], verdict: 'error' },
    {
      name: 'floor query with several series: error (one series expected)',
      script: { 'err-critical': { 0: 0.33 }, 'err-critical:when': { 0: [[{ a: '1' }, 5], [{ a: '2' }, 5]] } },
      want: [],
      verdict: 'error',
    },
  ];
  it.each(cases)('$name', ({ script, want, verdict }) => {
    const r = run(rules(body), script, { untilS: 0 });
    expect(r.summary).toEqual(want);
    expect(r.evaluations[0]!.verdict).toBe(verdict);
  });
});

describe('engine: baselines', () => {
  const header = `baselines:\n  ttfa: { query: 'base' }\n`;
  const body = `  - { name: ttfa-critical, tier: immediate, query: 'p95', above: { baseline: ttfa, factor: 3 } }\n`;
  it('threshold is baseline x factor, and the evidence carries the baseline', () => {
    const rs = rules(body, header);
    const r = run(rs, { 'ttfa-critical': { 0: 1.2, 15: 1.21 } }, { untilS: 30, baselines: { ttfa: { kind: 'value', value: 0.4, labels: {} } } });
    expect(r.summary).toEqual([[15, 'rollback', 'ttfa-critical']]);
    expect(r.decisions[0]!.threshold).toBeCloseTo(1.2);
    expect(r.decisions[0]!.evidence.baseline).toEqual({ name: 'ttfa', value: 0.4, factor: 3 });
  });
  it.each([
    ['no data at the release start', { kind: 'no-data' } as const],
    ['several series', { kind: 'several-series', count: 2 } as const],
    ['a query error', { kind: 'error', error: 'timeout' } as const],
  ])('baseline with %s: explicit no-baseline, never passing or firing', (_n, reading) => {
    const r = run(rules(body, header), { 'ttfa-critical': { 0: 99 } }, { untilS: 60, baselines: { ttfa: reading } });
    expect(r.summary).toEqual([]);
    expect(r.evaluations.every((e) => e.verdict === 'no-baseline' && e.state === 'inactive')).toBe(true);
  });
});

describe('engine: window, promote, escalation, resolve', () => {
  it('promotes once at the window end when nothing fired', () => {
    const r = run(rules(ERR_IMMEDIATE), { 'err-critical': { 0: 0.01 } }, { untilS: 3600 + 600, windowS: 3600 });
    expect(r.summary).toEqual([[3600, 'promote', '-']]);
    expect(r.state.outcome).toEqual({ kind: 'promoted', at: T0 + 3600_000 });
  });

  it('window edges: a breach at the last instant inside reverts; at the end itself it does not', () => {
    const inside = run(rules(ERR_IMMEDIATE), { 'err-critical': { 0: 0.01, 885: 0.2 } }, { untilS: 1200, severity: 'hotfix' });
    expect(inside.summary).toEqual([[885, 'rollback', 'err-critical']]);
    const atEnd = run(rules(ERR_IMMEDIATE), { 'err-critical': { 0: 0.01, 900: 0.2 } }, { untilS: 1200, severity: 'hotfix' });
    expect(atEnd.summary).toEqual([[900, 'promote', '-']]);
  });

  describe('a rule holding a breach at the window end keeps the release open until it fires or passes', () => {
    const SHADOW_SUSTAINED = SUSTAINED.replace('for: 15m }', 'for: 15m, mode: shadow }');
    const cases: { name: string; body: string; script: Script; untilS: number; severity?: 'hotfix'; windowS?: number; want: (string | number)[][]; note?: RegExp }[] = [
      {
        name: 'a 15m hold on a 15m hotfix window pages when the hold completes, not promote at the window end',
        body: SUSTAINED, script: { 'err-sustained': { 0: 0.001, 60: 0.02 } }, untilS: 1200, severity: 'hotfix',
        want: [[960, 'page', 'err-sustained', 1]],
      },
      {
        name: 'the held rule fires after the window: it pages, then escalates; promote waits for the resolve',
        body: SUSTAINED, script: { 'err-sustained': { 0: 0.001, 3000: 0.02, 5010: 0.001 } }, untilS: 5400, windowS: 3600,
        want: [[3900, 'page', 'err-sustained', 1], [4800, 'escalate', 'err-sustained', 2], [5010, 'resolve', 'err-sustained', 2], [5010, 'promote', '-']],
      },
      { name: 'the held rule passes after the window: promote then', body: SUSTAINED, script: { 'err-sustained': { 0: 0.001, 3000: 0.02, 3690: 0.001 } }, untilS: 4000, windowS: 3600, want: [[3690, 'promote', '-']], note: /^guard window ended earlier; promoted once no rule was firing or holding a breach$/ },
      { name: 'an immediate rule held at the window end reverts when its hold completes', body: ERR_HELD, script: { 'err-critical': { 0: 0.01, 3570: 0.08 } }, untilS: 3700, windowS: 3600, want: [[3630, 'rollback', 'err-critical']] },
      {
        name: 'no data while held: not promoted (unknown is not healthy); the next breach fires it',
        body: SUSTAINED, script: { 'err-sustained': { 0: 0.001, 3000: 0.02, 3600: null, 4500: 0.02 } }, untilS: 4600, windowS: 3600,
        want: [[4500, 'page', 'err-sustained', 1]],
      },
      {
        name: 'no data for twice the hold after the breach began (no traffic at night, a daemon that was down): promoted, saying what was unresolved',
        body: SUSTAINED, script: { 'err-sustained': { 0: 0.001, 3000: 0.02, 3600: null } }, untilS: 6000, windowS: 3600,
        want: [[4800, 'promote', '-']], note: /; stopped waiting on err-sustained: pending for twice its hold with no breach or pass seen \(unknown data\)$/,
      },
      { name: 'a shadow rule held at the window end does not keep it open', body: SHADOW_SUSTAINED, script: { 'err-sustained': { 0: 0.001, 3000: 0.02 } }, untilS: 4000, windowS: 3600, want: [[3600, 'promote', '-']] },
      { name: 'a rule that was inactive at the window end is not evaluated after it', body: SUSTAINED, script: { 'err-sustained': { 0: 0.001, 3600: 0.02 } }, untilS: 5000, windowS: 3600, want: [[3600, 'promote', '-']] },
    ];
    it.each(cases)('$name', ({ body, script, untilS, severity, windowS, want, note }) => {
      const r = run(rules(body), script, { untilS, ...(severity ? { severity } : {}), ...(windowS !== undefined ? { windowS } : {}) });
      expect(r.summary).toEqual(want);
      if (note) expect(r.decisions.find((d) => d.action === 'promote')?.evidence.note).toMatch(note);
    });

    it('a release start off the tick grid (live) promotes with the plain note when nothing was held', () => {
      // The window ends between two ticks: the first tick after it is past the end, but nothing was held.
      const r = run(rules(SUSTAINED), { 'err-sustained': { 0: 0.001 } }, { untilS: 3615, windowS: 3607 });
      expect(r.summary).toEqual([[3615, 'promote', '-']]);
      expect(r.decisions[0]!.evidence.note).toBe('guard window ended with no rollback and no rule firing or holding a breach');
    });
  });

  it('escalates at 15 and 30 min after the page (not a step early), then resolves; promote waits for the resolve', () => {
    const body = `  - { name: lat, tier: considered, query: 'q', above: 1 }\n`;
    const r = run(rules(body), { lat: { 0: 0.5, 600: 2, 3300: 0.5 } }, { untilS: 7200, windowS: 3600 });
    expect(r.summary).toEqual([
      [600, 'page', 'lat', 1],
      [600 + 900, 'escalate', 'lat', 2],
      [600 + 1800, 'escalate', 'lat', 3],
      [3300, 'resolve', 'lat', 3],
      [3600, 'promote', '-'],
    ]);
  });

  it('an open page keeps escalating after the window; the release promotes when it resolves', () => {
    const body = `  - { name: lat, tier: considered, query: 'q', above: 1 }\n`;
    const r = run(rules(body), { lat: { 0: 0.5, 3000: 2, 4995: 0.5 } }, { untilS: 6000, windowS: 3600 });
    expect(r.summary).toEqual([
      [3000, 'page', 'lat', 1],
      [3900, 'escalate', 'lat', 2],
      [4800, 'escalate', 'lat', 3],
      [4995, 'resolve', 'lat', 3],
      [4995, 'promote', '-'],
    ]);
  });

  it('a manual page (no rule, no data) climbs the same ladder at 15 and 30 min; the promotion closes it, saying it was never decided', () => {
    const r = run(rules(SUSTAINED), { 'err-sustained': { 0: 0.001 } }, { untilS: 3600, manualPagesS: [120] });
    // The promotion closes the page's incident (a resolve naming it) before it promotes.
    expect(r.summary).toEqual([[1020, 'escalate', '-', 2], [1920, 'escalate', '-', 3], [3600, 'resolve', '-', 3], [3600, 'promote', '-']]);
    expect(r.decisions[0]!.evidence).toMatchObject({ pagedAt: T0 + 120_000, note: 'manual page (paged 2026-11-20T14:02:00.000Z): still undecided' });
    expect(r.decisions[2]!.evidence).toMatchObject({ pagedAt: T0 + 120_000, note: 'manual page (paged 2026-11-20T14:02:00.000Z): never decided; closed as the release was promoted' });
    expect(r.decisions.at(-1)!.evidence.note).toMatch(/; 1 manual page was never decided$/);
    expect(r.state.manual).toEqual([{ level: 3, pagedAt: T0 + 120_000 }]);
  });

  it('a custom ladder from the rules file; several due steps at one instant are each decided', () => {
    const header = `escalation:\n  - { level: 1, after: 0m }\n  - { level: 2, after: 1m }\n  - { level: 4, after: 2m }\n`;
    const body = `  - { name: lat, tier: considered, query: 'q', above: 1 }\n`;
    const r = run(rules(body, header), { lat: { 0: 2 } }, { untilS: 600, stepS: 300, windowS: 3600 });
    expect(r.summary).toEqual([
      [0, 'page', 'lat', 1],
      [300, 'escalate', 'lat', 2],
      [300, 'escalate', 'lat', 4],
    ]);
  });
});

describe('engine: modes', () => {
  it('page-only turns an immediate rule into a page', () => {
    const r = run(rules(`  - { name: err-critical, tier: immediate, query: 'err', above: 0.05, mode: page-only }\n`), { 'err-critical': { 0: 0.2 } }, { untilS: 60 });
    expect(r.summary).toEqual([[0, 'page', 'err-critical', 1, 'page-only']]);
    expect(r.state.outcome).toBeUndefined();
  });

  it('shadow: decisions are logged as shadow, the release goes on, and shadow rules do not block promote', () => {
    const body = `  - { name: err-critical, tier: immediate, query: 'err', above: 0.05, mode: shadow }\n  - { name: lat, tier: considered, query: 'q', above: 1, mode: shadow }\n`;
    const r = run(rules(body), { 'err-critical': { 0: 0.2 }, lat: { 0: 2 } }, { untilS: 900, severity: 'hotfix' });
    expect(r.summary).toEqual([
      [0, 'rollback', 'err-critical', 'shadow'],
      [0, 'page', 'lat', 1, 'shadow'],
      [900, 'escalate', 'lat', 2, 'shadow'], // what it would have done; nothing is sent
      [900, 'promote', '-'],
    ]);
  });
});

describe('engine: evidence and determinism', () => {
  it('every decision carries rule, tier, query, value, threshold, hold start, instant and the rules hash', () => {
    const rs = rules(ERR_HELD);
    const d = run(rs, { 'err-critical': { 0: 0.08 } }, { untilS: 60 }).decisions[0]!;
    expect(d).toMatchObject({ at: T0 + 60_000, action: 'rollback', tier: 'immediate', rule: 'err-critical', value: 0.08, threshold: 0.05, mode: 'enforce' });
    expect(d.evidence).toMatchObject({ rule: 'err-critical', tier: 'immediate', query: 'err', comparison: 'above', breachingSince: T0, forMs: 60_000, rulesHash: rs.hash });
    expect(rs.hash).toMatch(/^[0-9a-f]{64}$/);
  });

  it('the same inputs give the same outputs', () => {
    const rs = rules(ERR_HELD + SUSTAINED);
    const script: Script = { 'err-critical': { 0: 0.02, 400: 0.09 }, 'err-sustained': { 0: 0.02 } };
    expect(run(rs, script, { untilS: 3600 })).toEqual(run(rs, script, { untilS: 3600 }));
  });

  it('nothing is evaluated before the release start', () => {
    const rs = rules(ERR_IMMEDIATE);
    expect(run(rs, { 'err-critical': { 0: 0.2 } }, { untilS: -15 }).evaluations).toEqual([]);
  });
});
