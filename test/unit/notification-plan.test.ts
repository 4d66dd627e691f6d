// The pure notification plan: who hears about what (checklist 6.1-6.3), with the templates filled in.
import { describe, expect, it } from 'vitest';
import type { Decision } from '../../src/core/engine.js';
import { pagerDutySeverity, planNotifications, type NotifiedRelease } from '../../src/core/notification-plan.js';
import { formatSummary } from '../../src/core/summary-format.js';
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

  it('a page-only immediate rule (an outage the team pages on instead of reverting) pages PagerDuty as critical, escalations too', () => {
    const pageOnly = { tier: 'immediate' as const, rule: 'error-rate-critical', mode: 'page-only' as const, value: 0.2, threshold: 0.05 };
    const severities = (['page', 'escalate'] as const).flatMap((action) =>
      planNotifications(settings, release, { kind: 'decision', decision: decision({ ...pageOnly, action, level: action === 'page' ? 1 : 2 }) }).flatMap((n) => (n.channel === 'pagerduty' ? [n.severity] : [])),
    );
    expect(severities).toEqual(['critical', 'critical']);
    expect(planNotifications(settings, release, { kind: 'decision', decision: decision() }).flatMap((n) => (n.channel === 'pagerduty' ? [n.severity] : []))).toEqual(['warning']);
  });

  it("a resolve that did not come from the data (the rule left the rules file) says why, not 'no longer breaching'", () => {
    const text = (d: ReturnType<typeof decision>) => planNotifications(settings, release, { kind: 'decision', decision: d }).flatMap((n) => (n.channel === 'slack' ? [n.text.split('\n').at(-1)] : []));
    expect(text(decision({ action: 'resolve', value: 0.41 }))).toEqual(['Resolved at 2026-11-20T14:10:00Z: ttfa-regression is no longer breaching.'.replace(/^/, ':large_green_circle: ')]);
    const orphan = decision({ action: 'resolve', value: null, threshold: null });
    orphan.evidence = { ...orphan.evidence, note: 'ttfa-regression is no longer in the rules file (removed or renamed by a reload): its page is closed' };
    expect(text(orphan)).toEqual([':large_green_circle: Resolved at 2026-11-20T14:10:00Z: ttfa-regression is no longer in the rules file (removed or renamed by a reload): its page is closed.']);
  });

  it('a manual trigger (no rule, no value) says who raised it and why, not "page = n/a > n/a"', () => {
    const note = 'manual trigger by alice: user complaints increasing';
    const manual = decision({ rule: null, value: null, threshold: null });
    manual.evidence = { ...manual.evidence, note };
    const [slack, pd] = planNotifications(settings, release, { kind: 'decision', decision: manual });
    expect(slack!.channel === 'slack' && slack!.text).toContain(`Issue: ${note}\n`);
    expect(slack!.channel === 'slack' && slack!.text).toContain('Impact: manual trigger, considered: waiting for a human to approve or decline a rollback');
    expect(pd!.channel === 'pagerduty' && pd!.summary).toBe(`[L1] voice-production/voice-server: ${note} (decision 41, approve with rollback-guard approve 41 --by NAME)`);
    const escalation = decision({ rule: null, value: null, threshold: null, action: 'escalate', level: 2 });
    escalation.evidence = { ...escalation.evidence, note: 'the manual page of 2026-11-20T14:10:00.000Z is still undecided' };
    const escalated = planNotifications(settings, release, { kind: 'decision', decision: escalation });
    expect(escalated.map((n) => (n.channel === 'slack' ? n.text : n.channel === 'pagerduty' ? n.dedupKey : ''))).toEqual([
      ":arrow_double_up: Escalated to level 2 <@U0TECHLEAD>: the manual page of 2026-11-20T14:10:00.000Z is still undecided. Decision 41.",
      'rollback-guard/voice-production/voice-server/release-7/manual-page',
    ]);
    // The page and its escalations are one incident.
    expect(planNotifications(settings, release, { kind: 'decision', decision: manual }).find((n) => n.channel === 'pagerduty')!.dedupKey).toBe('rollback-guard/voice-production/voice-server/release-7/manual-page');
    const rollback = decision({ rule: null, value: null, threshold: null, action: 'rollback', tier: 'immediate', level: undefined });
    rollback.evidence = { ...rollback.evidence, note: 'manual trigger by alice: CVE-2026-1234' };
    const start = planNotifications(settings, release, { kind: 'decision', decision: rollback }).find((n) => n.channel === 'slack');
    expect(start!.channel === 'slack' && start!.text).toContain('Reason: manual trigger by alice: CVE-2026-1234\n');
  });

  it('one dedup key per (release, rule), the same for page, escalation and resolve', () => {
    const keys = (['page', 'escalate', 'resolve'] as const).flatMap((action) => planNotifications(settings, release, { kind: 'decision', decision: decision({ action, level: action === 'escalate' ? 2 : 1 }) }).map((n) => n.dedupKey));
    expect(new Set(keys)).toEqual(new Set(['rollback-guard/voice-production/voice-server/release-7/ttfa-regression']));
  });

  it("a considered page says who it waits for: a human, or with approvalLevel the level that must approve", () => {
    const impact = (n: typeof settings) => {
      const slack = planNotifications(n, release, { kind: 'decision', decision: decision() }).find((x) => x.channel === 'slack');
      return slack?.channel === 'slack' ? /^Impact: (.*)$/m.exec(slack.text)?.[1] : undefined;
    };
    expect(impact(settings)).toBe('considered-tier rule: waiting for a human to approve or decline a rollback');
    const techLead = pagingRuleset(PAGING_RULES.replace('  approvers: { U0ALICE: alice }', '  approvalLevel: 2\n  approvers: { U0ALICE: { name: alice, level: 2 } }')).notifications;
    expect(impact(techLead)).toBe('considered-tier rule: waiting for level 2 (tech lead) or higher to approve or decline a rollback');
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

  it('defaults: #voice-releases, #voice-incidents and #voice-engineering, public endpoints, no levels, post-mortem due in 2 days', () => {
    const d = pagingRuleset('version: 1\ntarget: { namespace: a, deployment: b }\nrules:\n  - { name: r, tier: immediate, query: q, above: 1 }\n').notifications;
    expect(d).toEqual({ channels: { releases: '#voice-releases', incidents: '#voice-incidents', engineering: '#voice-engineering' }, postmortemDueMs: 2 * 86_400_000, alsoRollBack: [], levels: [], templates: {}, approvers: {}, approvalLevel: 1, summary: {}, pagerdutyServer: 'events.pagerduty.com', slackApiUrl: 'https://slack.com/api/' });
  });

  it("DEPLOY_SUCCESS's metrics: the promote's summary readings fill ERROR_RATE, LATENCY, SESSIONS; unset ones read n/a", () => {
    const promote = decision({ action: 'promote', tier: null, rule: null, level: undefined, value: null, threshold: null });
    const text = (summary?: Record<string, string>) => {
      const [n] = planNotifications(settings, release, { kind: 'decision', decision: promote, ...(summary ? { summary } : {}) });
      return n!.channel === 'slack' ? n!.text : '';
    };
    expect(text({ ERROR_RATE: '0.4 %', LATENCY: '450 ms' })).toContain('Metrics:\n- Error rate: 0.4 %\n- P95 Latency: 450 ms\n- Active sessions: n/a\n');
    expect(text()).toContain('- Error rate: n/a\n');
  });

  it.each([
    [{ kind: 'value', value: 0.004, labels: {} }, 'percent', '0.4 %'],
    [{ kind: 'value', value: 0.4537, labels: {} }, 'seconds', '454 ms'],
    [{ kind: 'value', value: 2.5, labels: {} }, 'seconds', '2.5 s'],
    [{ kind: 'value', value: 1234.5678, labels: {} }, 'number', '1230'],
    [{ kind: 'value', value: Number.POSITIVE_INFINITY, labels: {} }, 'number', '+Inf'],
    [{ kind: 'no-data' }, 'percent', 'n/a (no data)'],
    [{ kind: 'several-series', count: 3 }, 'number', 'n/a (the query gave 3 series, not one)'],
    [{ kind: 'error', error: 'connection refused' }, 'seconds', 'n/a (query failed)'],
  ] as const)('summary reading %j as %s: %s', (reading, format, want) => {
    expect(formatSummary(reading, format)).toBe(want);
  });

  it('recovery after a rollback (5.3): recovered is said in Slack; not recovered pages level 1 critical and emails; unknown pages a warning', () => {
    const rollback = decision({ action: 'rollback', tier: 'immediate', rule: 'error-rate-critical', level: undefined });
    const readings = [{ rule: 'error-rate-critical', verdict: 'pass', value: 0.002, threshold: 0.05 }];
    const withEmail = pagingRuleset(PAGING_RULES.replace('  approvers:', "  email: { to: [a@example.com], from: rg@example.com, smtp: { host: relay } }\n  approvers:")).notifications;
    const plan = (outcome: 'recovered' | 'not-recovered' | 'unknown', v = readings) => planNotifications(withEmail, release, { kind: 'recovery', at: T0 + 900_000, since: T0 + 600_000, decision: rollback, outcome, readings: v });
    const ok = plan('recovered');
    expect(ok.map((n) => n.channel)).toEqual(['slack']);
    expect(ok[0]!.channel === 'slack' && ok[0]!.text).toBe(':white_check_mark: [Voice System] Recovery confirmed after the rollback of voice-production/voice-server (decision 41), 5m after it rolled out: error-rate-critical = 0.002 (pass, threshold 0.05).');
    const bad = plan('not-recovered', [{ rule: 'error-rate-critical', verdict: 'breach', value: 0.07, threshold: 0.05 }]);
    expect(bad.map((n) => n.channel)).toEqual(['slack', 'pagerduty', 'email']);
    expect(bad[0]!.channel === 'slack' && bad[0]!.text).toMatch(/^:x: \[Voice System\] NOT recovered 5m after the rollback of voice-production\/voice-server \(decision 41\): error-rate-critical = 0\.07 \(breach, threshold 0\.05\)\. .*investigate now\. <!subteam\^S0ONCALL>$/);
    expect(bad[1]).toMatchObject({ action: 'trigger', severity: 'critical', routingKeyName: 'ONCALL', dedupKey: 'rollback-guard/voice-production/voice-server/release-7/recovery' });
    expect(bad[2]).toMatchObject({ subject: 'NOT recovered after the rollback: voice-production/voice-server', to: ['a@example.com'] });
    expect(plan('unknown').map((n) => [n.channel, n.channel === 'pagerduty' ? n.severity : ''])).toEqual([['slack', ''], ['pagerduty', 'warning']]);
  });

  describe('email (checklist 6.1: rollback initiated / complete to all stakeholders)', () => {
    const EMAIL = "  email:\n    to: [stakeholders@example.com, vp@example.com]\n    from: 'rollback-guard <rollback-guard@example.com>'\n    smtp: { host: smtp.example.com }\n  approvers:";
    const withEmail = pagingRuleset(PAGING_RULES.replace('  approvers:', EMAIL)).notifications;
    const rollback = decision({ action: 'rollback', tier: 'immediate', rule: 'error-rate-critical', level: undefined, value: 0.08, threshold: 0.05, evidence: { ...decision().evidence, value: 0.08, threshold: 0.05, forMs: 0 } });
    const emails = (s: typeof settings, event: Parameters<typeof planNotifications>[2]) => planNotifications(s, release, event).filter((n) => n.channel === 'email');

    it('is off unless `to` is set; the SMTP server defaults to STARTTLS on 587', () => {
      expect(emails(settings, { kind: 'decision', decision: rollback })).toEqual([]);
      expect(withEmail.email?.smtp).toEqual({ host: 'smtp.example.com', port: 587, tls: 'starttls' });
      const smtpOf = (smtp: string) => pagingRuleset(PAGING_RULES.replace('  approvers:', `  email: { to: [a@example.com], from: b@example.com, smtp: ${smtp} }\n  approvers:`)).notifications.email?.smtp;
      expect(smtpOf('{ host: relay, tls: implicit }')).toEqual({ host: 'relay', port: 465, tls: 'implicit' });
      expect(smtpOf('{ host: relay, tls: none }')).toEqual({ host: 'relay', port: 25, tls: 'none' });
      expect(smtpOf('{ host: relay, tls: none, port: 2525 }')).toEqual({ host: 'relay', port: 2525, tls: 'none' });
      // Addresses are checked as loosely for `to` as for `from`: an internal domain without a dot is fine.
      expect(pagingRuleset(PAGING_RULES.replace('  approvers:', '  email: { to: [ops@localhost], from: rg@example, smtp: { host: relay } }\n  approvers:')).notifications.email?.to).toEqual(['ops@localhost']);
    });

    it('refuses a port that speaks another TLS mode than `tls` (each send would time out), at its line', () => {
      const rules = (smtp: string) => PAGING_RULES.replace('  approvers:', `  email:\n    to: [a@example.com]\n    from: b@example.com\n    smtp: ${smtp}\n  approvers:`);
      expect(() => pagingRuleset(rules('{ host: relay, port: 465 }'))).toThrow(/paging\.yaml:\d+:\d+: `notifications\.email\.smtp`: port 465 is SMTPS \(TLS from the first byte\), but `tls` is starttls; set `tls: implicit`/);
      expect(() => pagingRuleset(rules('{ host: relay, port: 587, tls: implicit }'))).toThrow(/port 587 is submission \(plain text, upgraded with STARTTLS\), but `tls` is implicit; set `tls: starttls`, or give the port your server uses for implicit/);
      expect(() => pagingRuleset(rules('{ host: relay, port: 25, tls: implicit }'))).toThrow(/port 25 is SMTP .*set `tls: starttls` \(or `none`\)/);
      expect(() => pagingRuleset(rules('{ host: relay, port: 465, tls: none }'))).toThrow(/port 465 is SMTPS .*`tls` is none; set `tls: implicit`/);
      for (const ok of ['{ host: relay, port: 587, tls: none }', '{ host: relay, port: 25 }', '{ host: relay, port: 25, tls: none }']) expect(() => pagingRuleset(rules(ok))).not.toThrow();
      expect(pagingRuleset(rules('{ host: relay, port: 2525, tls: implicit }')).notifications.email?.smtp.port).toBe(2525);
    });

    it('refuses `from` or `smtp` without `to`: nobody would be emailed', () => {
      expect(() => pagingRuleset(PAGING_RULES.replace('  approvers:', '  email: { smtp: { host: relay } }\n  approvers:'))).toThrow(/`notifications\.email` has no `to:`, so nobody would be emailed/);
    });

    it('pages before emails: a slow SMTP server never holds up a page', () => {
      expect(planNotifications(withEmail, release, { kind: 'decision', decision: rollback }).map((n) => n.channel)).toEqual(['slack', 'pagerduty', 'pagerduty', 'email']);
    });

    it('with --dry-run a rollback is announced in Slack as not made; nobody is paged or emailed', () => {
      const planned = planNotifications(withEmail, release, { kind: 'decision', decision: rollback, dryRun: true });
      expect(planned).toHaveLength(1);
      expect(planned[0]).toMatchObject({ channel: 'slack', slackChannel: '#voice-incidents', text: expect.stringMatching(/^:test_tube: DRY RUN: nothing was rolled back \(rollback-guard runs with --dry-run\)\. It would have sent:\n:rotating_light: \[Voice System\] Rollback Initiated/) });
      expect(planned[0]!.channel === 'slack' && planned[0]!.text).not.toContain('<!subteam');
      const approved = planNotifications(withEmail, release, { kind: 'rollback-started', at: T0, decision: decision(), by: 'alice', dryRun: true });
      expect(approved.map((n) => [n.channel, n.channel === 'slack' && n.text.includes('(approved by alice)')])).toEqual([['slack', true]]);
      const refused = planNotifications(withEmail, release, { kind: 'dry-run-outcome', at: T0, decision: rollback, outcome: 'would have been refused: paused' });
      expect(refused.map((n) => [n.channel, n.channel === 'slack' && n.text])).toEqual([['slack', ":test_tube: DRY RUN: decision 41's rollback would have been refused: paused. Nothing was patched."]]);
      // Without --dry-run both are announced, paged and emailed (the tests above).
      expect(planNotifications(withEmail, release, { kind: 'decision', decision: rollback, dryRun: false }).length).toBeGreaterThan(1);
    });

    it('an immediate rollback emails ROLLBACK_START: subject without the emoji code, levels named instead of Slack mentions', () => {
      const [mail, ...more] = emails(withEmail, { kind: 'decision', decision: rollback });
      expect(more).toEqual([]);
      expect(mail).toEqual({
        channel: 'email', action: 'send', key: 'release-7:decision:41:email', dedupKey: 'rollback-guard/voice-production/voice-server/release-7/error-rate-critical', decisionId: 41,
        from: 'rollback-guard <rollback-guard@example.com>', to: ['stakeholders@example.com', 'vp@example.com'],
        subject: '[Voice System] Rollback Initiated: voice-production/voice-server',
        text: '[Voice System] Rollback Initiated\n\nVersion: v2.14.0 -> v2.13.2\nReason: error-rate-critical = 0.08 > 0.05\nStarted: 2026-11-20T14:10:00Z\nETA: ~5m (rollout of the previous ReplicaSet)\n\nStatus updates every 5 minutes.\n\n--\nrollback-guard on voice-production/voice-server, release 7. Decision 41: rollback-guard explain 41',
      });
    });

    it('approved rollbacks, completions and failures are emailed too; pages, escalations and promotions are not', () => {
      const approved = emails(withEmail, { kind: 'rollback-started', at: T0 + 700_000, decision: decision(), by: 'alice' });
      expect(approved.map((n) => n.channel === 'email' && n.text)).toEqual([expect.stringContaining('Reason: ttfa-regression = 0.7747 > 0.6 (held 5m) (approved by alice)')]);
      const complete = emails(withEmail, { kind: 'rollback-complete', at: T0 + 900_000, decision: rollback, startedAt: T0 + 600_000 });
      expect(complete).toMatchObject([{ subject: '[Voice System] Rollback Complete: voice-production/voice-server', text: expect.stringContaining('Rolled back: v2.14.0 -> v2.13.2\nDuration: 5m') }]);
      // Rolled out is not recovered (checklist 5.3): never "Service restored" before the recovery verdict.
      const status = (recoveryChecked?: boolean) => (emails(withEmail, { kind: 'rollback-complete', at: T0 + 900_000, decision: rollback, startedAt: T0 + 600_000, ...(recoveryChecked !== undefined ? { recoveryChecked } : {}) })[0] as { text: string }).text.split('\n').find((l) => l.startsWith('Status: '));
      expect([status(true), status(undefined), status(false)]).toEqual([
        `Status: Rolled out; recovery being checked (checklist 5.3), the verdict follows in ${withEmail.channels.incidents}`,
        `Status: Rolled out; recovery being checked (checklist 5.3), the verdict follows in ${withEmail.channels.incidents}`,
        'Status: Rolled out; recovery is not checked (`recovery: 0s`, or no immediate rule to judge it): check the service',
      ]);
      const failed = emails(withEmail, { kind: 'rollback-failed', at: T0 + 900_000, decision: rollback, error: 'HTTP 403' });
      expect(failed).toMatchObject([{ subject: '[Voice System] Rollback FAILED: voice-production/voice-server', text: expect.stringContaining('Error: HTTP 403\nEscalated to: level 1 (on-call engineer), level 2 (tech lead), level 3 (engineering manager), level 4 (VP engineering)') }]);
      for (const action of ['page', 'escalate', 'resolve', 'promote'] as const) expect(emails(withEmail, { kind: 'decision', decision: decision({ action }) })).toEqual([]);
      expect(emails(withEmail, { kind: 'rollback-refused', at: T0, decision: rollback, reason: 'paused' })).toEqual([]);
    });

    it('a template override changes the email as it changes the Slack message', () => {
      const custom = pagingRuleset(PAGING_RULES.replace('  approvers:', EMAIL.replace('  approvers:', "  templates: { ROLLBACK_START: ':x: :fire: Reverting {DEPLOYMENT} ({REASON})' }\n  approvers:"))).notifications;
      const [mail] = emails(custom, { kind: 'decision', decision: rollback });
      expect(mail).toMatchObject({ subject: 'Reverting voice-server (error-rate-critical = 0.08 > 0.05): voice-production/voice-server' });
    });

    it('notify --test emails the recipients whatever the level', () => {
      expect(emails(withEmail, { kind: 'test', at: T0, level: 3 })).toMatchObject([{ subject: '[TEST] rollback-guard notify --test: voice-production/voice-server', to: ['stakeholders@example.com', 'vp@example.com'] }]);
    });

    it('is rejected without `from` or `smtp`, or with an address that is not one, at its line', () => {
      expect(() => pagingRuleset(PAGING_RULES.replace('  approvers:', '  email:\n    to: [stakeholders@example.com]\n  approvers:'))).toThrow(
        /paging\.yaml:\d+:\d+: `notifications\.email` has `to:` but no `from:`[\s\S]*`notifications\.email` has `to:` but no `smtp:`/,
      );
      expect(() => pagingRuleset(PAGING_RULES.replace('  approvers:', EMAIL.replace('vp@example.com', 'the VP').replace("'rollback-guard <rollback-guard@example.com>'", 'rollback-guard')))).toThrow(
        /notifications\.email\.to\[1\][\s\S]*must be an email address[\s\S]*notifications\.email\.from[\s\S]*must be an address/,
      );
    });
  });

  it('rejects outage rules that do not exist and levels listed twice, at their line', () => {
    const text = PAGING_RULES.replace('outageRules: [error-rate-critical]', 'outageRules: [error-rate-critcal]').replace("    - { level: 4, pagerduty: VP, slack: '<@U0VP>' }", "    - { level: 3, pagerduty: VP }");
    expect(() => pagingRuleset(text)).toThrow(/paging\.yaml:\d+:\d+: `notifications\.levels`: level 3 is listed twice[\s\S]*`notifications\.outageRules` names "error-rate-critcal", which is not a rule in this file/);
  });
});
