// A page whose data goes unknown after the guard window no longer keeps the release open for good (issue 19):
// after `giveUpAfter` without a breach or a pass, the guard gives up on it, says so, and the release can end.
import { describe, expect, it } from 'vitest';
import type { Decision } from '../../src/core/engine.js';
import { planNotifications, type NotifiedRelease } from '../../src/core/notification-plan.js';
import { rules, run, T0, type Script } from '../helpers/engine-script.js';
import { pagingRuleset } from '../helpers/paging-fixture.js';

const RULE = `  - { name: err-sustained, tier: considered, query: 'err', above: 0.01 }\n`;
const R = 'err-sustained';

describe('engine: giving up on a page whose data went unknown after the window', () => {
  const cases: { name: string; header: string; script: Script; untilS: number; want: (string | number)[][]; open?: boolean }[] = [
    {
      name: 'no data from after the window: gives up giveUpAfter after the window (or its last breach), then promotes',
      header: 'giveUpAfter: 2m\n',
      script: { [R]: { 0: 0.02, 75: null } },
      untilS: 400,
      want: [[0, 'page', R, 1], [180, 'resolve', R, 1], [180, 'promote', '-']],
    },
    {
      name: 'a breach seen after the window restarts the clock',
      header: 'giveUpAfter: 2m\n',
      script: { [R]: { 0: 0.02, 75: 'err', 150: 0.03, 165: 'err' } },
      untilS: 400,
      want: [[0, 'page', R, 1], [270, 'resolve', R, 1], [270, 'promote', '-']],
    },
    {
      name: 'data that comes back passing resolves the page as usual',
      header: 'giveUpAfter: 2m\n',
      script: { [R]: { 0: 0.02, 75: null, 120: 0.001 } },
      untilS: 400,
      want: [[0, 'page', R, 1], [120, 'resolve', R, 1], [120, 'promote', '-']],
    },
    {
      name: 'giveUpAfter: 0s never gives up: the release stays open (the old behaviour, by choice)',
      header: 'giveUpAfter: 0s\n',
      script: { [R]: { 0: 0.02, 75: null } },
      untilS: 3000,
      want: [[0, 'page', R, 1], [900, 'escalate', R, 2], [1800, 'escalate', R, 3]],
      open: true,
    },
  ];
  it.each(cases)('$name', ({ header, script, untilS, want, open }) => {
    const r = run(rules(RULE, header), script, { untilS, windowS: 60 });
    expect(r.summary).toEqual(want);
    expect(r.state.outcome === undefined).toBe(open === true);
  });

  it('the default is 30 minutes; the resolve says it gave up, and the promote says on what', () => {
    const r = run(rules(RULE), { [R]: { 0: 0.02, 75: null } }, { untilS: 2400, windowS: 60 });
    const [resolve, promote] = r.decisions.filter((d) => d.action !== 'page' && d.action !== 'escalate');
    expect((resolve!.at - T0) / 1000).toBe(60 + 1800);
    expect(resolve!.evidence.gaveUp).toEqual({ unknownSince: T0 + 60_000, afterMs: 1_800_000 });
    expect(resolve!.evidence.note).toBe('gave up: no breach or pass seen for 30m after the window (empty result); the page is left for a human to close');
    expect(promote!.evidence.note).toMatch(/gave up on the page of err-sustained/);
    expect(r.evaluations.at(-1)).toMatchObject({ rule: R, verdict: 'no-data', state: 'inactive' });
  });
});

describe('notifications: a page given up on is not announced as resolved', () => {
  const release: NotifiedRelease = { id: 7, namespace: 'voice-production', deployment: 'voice-server', startedAt: T0, severity: 'minor', windowMs: 3_600_000, version: '2.14.0', previousVersion: '2.13.2', manager: 'dana' };
  it('Slack: the page updated and GUARD_TROUBLE posted; PagerDuty: the incident re-triggered, not resolved', () => {
    const d: Decision & { id: number } = {
      id: 12, at: T0 + 5_400_000, action: 'resolve', tier: 'considered', rule: 'error-rate-sustained', level: 2, value: null, threshold: 0.01, mode: 'enforce',
      evidence: { rule: 'error-rate-sustained', value: null, threshold: 0.01, release: { startedAt: T0, severity: 'minor', windowEnd: T0 + 3_600_000 }, rulesHash: 'h', gaveUp: { unknownSince: T0 + 3_600_000, afterMs: 1_800_000 }, note: 'gave up: ...' },
    };
    const plan = planNotifications(pagingRuleset().notifications, release, { kind: 'decision', decision: d });
    const pd = plan.filter((n) => n.channel === 'pagerduty');
    expect(pd.length).toBeGreaterThan(0);
    expect(pd.every((n) => n.channel === 'pagerduty' && n.action === 'trigger' && n.summary.startsWith('rollback-guard gave up on error-rate-sustained: no breach or pass seen for 30m'))).toBe(true);
    const slack = plan.filter((n) => n.channel === 'slack');
    expect(slack.map((n) => n.channel === 'slack' && n.action)).toEqual(['update', 'post']);
    expect(slack.some((n) => n.channel === 'slack' && /gave up/.test(n.text) && !/Resolved/.test(n.text))).toBe(true);
  });
});
