// Checklist 6.1's "Post-mortem scheduled" (POSTMORTEM to #voice-engineering, and the date in ROLLBACK_COMPLETE), and
// 5.2's client and database rollbacks, which reverting the Deployment does not do, named in ROLLBACK_START (issue 19).
import { describe, expect, it } from 'vitest';
import type { Decision } from '../../src/core/engine.js';
import { planNotifications, type NotifiedRelease, type Notification } from '../../src/core/notification-plan.js';
import { PAGING_RULES, pagingRuleset, T0 } from '../helpers/paging-fixture.js';

const release: NotifiedRelease = { id: 7, namespace: 'voice-production', deployment: 'voice-server', startedAt: T0, severity: 'minor', windowMs: 3_600_000, version: '2.14.0', previousVersion: '2.13.2', manager: 'dana' };
const rollback: Decision & { id: number } = {
  id: 41, at: T0 + 600_000, action: 'rollback', tier: 'immediate', rule: 'error-rate-critical', value: 0.08, threshold: 0.05, mode: 'enforce',
  evidence: { value: 0.08, threshold: 0.05, comparison: 'above', forMs: 0, release: { startedAt: T0, severity: 'minor', windowEnd: T0 + 3_600_000 }, rulesHash: 'h' },
};
const EMAIL = "  email:\n    to: [stakeholders@example.com]\n    from: 'rollback-guard <rollback-guard@example.com>'\n    smtp: { host: smtp.example.com }\n  approvers:";
const slackText = (plan: Notification[], channel: string) => plan.flatMap((n) => (n.channel === 'slack' && n.slackChannel === channel ? [n.text] : []));
const complete = (rules: string) => planNotifications(pagingRuleset(rules).notifications, release, { kind: 'rollback-complete', at: Date.parse('2026-11-20T14:20:00Z'), decision: rollback, startedAt: T0 + 600_000 });

describe('POSTMORTEM (checklist 6.1)', () => {
  it('a completed rollback posts POSTMORTEM to #voice-engineering, due 2 days later, the date ROLLBACK_COMPLETE gives too', () => {
    const plan = complete(PAGING_RULES);
    const [post] = slackText(plan, '#voice-engineering');
    expect(post).toBe(':memo: [Voice System] Post-mortem scheduled\n\nRelease: v2.14.0 of voice-production/voice-server, rolled back to v2.13.2\nReason: error-rate-critical = 0.08 > 0.05\nPost-mortem scheduled: 2026-11-22\n\nEvidence: `rollback-guard explain 41`, `rollback-guard report --release 7`');
    expect(slackText(plan, '#voice-incidents')[0]).toMatch(/\nPost-mortem scheduled: 2026-11-22$/);
  });

  it('channels.engineering and postmortemDue choose where and when; postmortemDue 0s sends none and the date reads n/a', () => {
    const moved = complete(PAGING_RULES.replace('notifications:\n', 'notifications:\n  channels: { engineering: "#eng-postmortems" }\n  postmortemDue: 5d\n'));
    expect(slackText(moved, '#eng-postmortems')[0]).toMatch(/Post-mortem scheduled: 2026-11-25/);
    const off = complete(PAGING_RULES.replace('notifications:\n', 'notifications:\n  postmortemDue: 0s\n'));
    expect(off.filter((n) => n.key.startsWith('postmortem:'))).toEqual([]);
    expect(slackText(off, '#voice-incidents')[0]).toMatch(/Post-mortem scheduled: n\/a$/);
  });
});

describe('ROLLBACK_START names the client and database rollbacks the Deployment does not take (checklist 5.2)', () => {
  const start = (rules: string) => planNotifications(pagingRuleset(rules).notifications, release, { kind: 'decision', decision: rollback });
  it('alsoRollBack: [client, database] adds both steps to the Slack message and the email', () => {
    const plan = start(PAGING_RULES.replace('  approvers:', `  alsoRollBack: [client, database]\n${EMAIL}`));
    const slack = slackText(plan, '#voice-incidents')[0]!;
    expect(slack).toMatch(/Also roll back by hand, if this release changed them:\n- client: restore the previous client build from its backup and invalidate the CDN \(checklist 5\.2, Client Rollback\)\n- database: if this release migrated the schema, restore the backup taken before it; this needs downtime planning/);
    const email = plan.find((n) => n.channel === 'email');
    expect(email && email.channel === 'email' && email.text).toMatch(/- client: restore the previous client build/);
  });

  it('none by default; a custom template without {ALSO_ROLL_BACK} still gets them appended', () => {
    expect(slackText(start(PAGING_RULES), '#voice-incidents')[0]).not.toMatch(/Also roll back/);
    const custom = start(PAGING_RULES.replace('notifications:\n', "notifications:\n  alsoRollBack: [database]\n  templates: { ROLLBACK_START: 'Reverting {DEPLOYMENT}: {REASON}' }\n"));
    expect(slackText(custom, '#voice-incidents')[0]).toBe('Reverting voice-server: error-rate-critical = 0.08 > 0.05\n\nAlso roll back by hand, if this release changed them:\n- database: if this release migrated the schema, restore the backup taken before it; this needs downtime planning (checklist 5.2, Database Rollback)');
  });
});
