// The pure notification plan: who hears about what (checklist 6.1-6.3), with the templates filled in.
import { describe, expect, it } from 'vitest';
import type { Decision } from '../../src/core/engine.js';
import { pagerDutySeverity, planNotifications, type NotifiedRelease } from '../../src/core/notification-plan.js';
import { PAGING_RULES, pagingRuleset, T0 } from '../helpers/paging-fixture.js';

const release: NotifiedRelease = { id: 7, namespace: 'voice-production', deployment: 'voice-server', startedAt: T0, severity: 'minor', windowMs: 3_600_000, version: '2.14.0', previousVersion: '2.13.2', manager: 'dana' };
const settings = pagingRuleset().notifications;
const decision = (over: Partial<Decision> = {}) => ({
  id: 41, at: T0 + 600_000, action: 'page' as const, tier: 'considered' as const, rule: 'ttfa-regression', level: 1, value: 0.7747, threshold: 0.6, mode: 'enforce' as const,
  evidence: { value: 0.7747, threshold: 0.6, comparison: 'above' as const, forMs: 300_000, release: { startedAt: T0, severity: 'minor', windowEnd: T0 + 3_600_000 }, rulesHash: 'h' },
  ...over,
});

describe('notification plan', () => {
  it('shadow decisions never notify', () => {
    for (const action of ['page', 'escalate', 'resolve', 'rollback'] as const) {
      expect(planNotifications(settings, release, { kind: 'decision', decision: decision({ action, mode: 'shadow' }) })).toEqual([]);
    }
  });

  it('maps PagerDuty severity from tier and level', () => {
    expect([1, 2, 3, 4].map((l) => pagerDutySeverity('considered', l))).toEqual(['warning', 'error', 'critical', 'critical']);
    expect(pagerDutySeverity('immediate', 1)).toBe('critical');
  });

  it('one dedup key per (release, rule), the same for page, escalation and resolve', () => {
    const keys = (['page', 'escalate', 'resolve'] as const).flatMap((action) => planNotifications(settings, release, { kind: 'decision', decision: decision({ action, level: action === 'escalate' ? 2 : 1 }) }).map((n) => n.dedupKey));
    expect(new Set(keys)).toEqual(new Set(['rollback-guard/voice-production/voice-server/release-7/ttfa-regression']));
  });

  it('release started and complete go to #voice-releases with DEPLOY_START and DEPLOY_SUCCESS filled in', () => {
    const [start] = planNotifications(settings, release, { kind: 'release-started', at: T0, changelog: '- faster VAD', tracking: 'VOICE-123' });
    expect(start).toMatchObject({ channel: 'slack', slackChannel: '#voice-releases' });
    expect(start!.channel === 'slack' && start!.text).toBe(':rocket: [Voice System] Deployment Starting\n\nVersion: v2.14.0\nStarted: 2026-11-20T14:00:00Z\nExpected Duration: 1h (guard window)\nRelease Manager: dana\n\nKey Changes:\n- faster VAD\n\nTracking: VOICE-123');
    const [done] = planNotifications(settings, release, { kind: 'decision', decision: decision({ action: 'promote', tier: null, rule: null, at: T0 + 3_600_000 }) });
    expect(done!.channel === 'slack' && done!.text).toContain('Version: v2.14.0\nDuration: 1h\nStatus: Successful');
    expect(done).toMatchObject({ slackChannel: '#voice-releases' });
  });

  it('template overrides from the rules file replace the checklist text', () => {
    const custom = pagingRuleset(PAGING_RULES.replace('  approvers:', "  templates:\n    ISSUE_DETECTED: 'ISSUE {RULE} {VALUE}>{THRESHOLD} v{VERSION} id {DECISION_ID} {UNKNOWN}'\n  approvers:")).notifications;
    const slack = planNotifications(custom, release, { kind: 'decision', decision: decision() }).find((n) => n.channel === 'slack');
    expect(slack!.channel === 'slack' && slack!.text).toBe('ISSUE ttfa-regression 0.7747>0.6 v2.14.0 id 41 n/a');
  });

  it('defaults: #voice-releases and #voice-incidents, public endpoints, no levels', () => {
    const d = pagingRuleset('version: 1\ntarget: { namespace: a, deployment: b }\nrules:\n  - { name: r, tier: immediate, query: q, above: 1 }\n').notifications;
    expect(d).toEqual({ channels: { releases: '#voice-releases', incidents: '#voice-incidents' }, levels: [], templates: {}, approvers: {}, pagerdutyServer: 'events.pagerduty.com', slackApiUrl: 'https://slack.com/api/' });
  });

  it('rejects outage rules that do not exist and levels listed twice, at their line', () => {
    const text = PAGING_RULES.replace('outageRules: [error-rate-critical]', 'outageRules: [error-rate-critcal]').replace("    - { level: 4, pagerduty: VP, slack: '<@U0VP>' }", "    - { level: 3, pagerduty: VP }");
    expect(() => pagingRuleset(text)).toThrow(/paging\.yaml:\d+:\d+: `notifications\.levels`: level 3 is listed twice[\s\S]*`notifications\.outageRules` names "error-rate-critcal", which is not a rule in this file/);
  });
});
