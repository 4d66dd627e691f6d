// Who may decide a considered rollback (checklist 5.1: Tech Lead approval), as a table.
import { describe, expect, it } from 'vitest';
import { approvalRefusal } from '../../src/core/approval-policy.js';
import type { Approver } from '../../src/core/ruleset.js';

const APPROVERS: Record<string, Approver> = {
  U1: { name: 'alice', level: 1 },
  U2: { name: 'Bob', level: 2 },
  U3: { name: 'carol' },
  U4: { name: 'bob', level: 3 }, // the same person with a second Slack account: the higher level counts by name
};
const NEED_2 = 'considered rollbacks need approval at level 2 (tech lead) or higher (notifications.approvalLevel)';

describe('approvalRefusal', () => {
  it.each([
    { name: 'level 1 lets anyone in (API)', need: 1, by: 'mallory', approver: undefined, want: undefined },
    { name: 'level 1 lets any listed Slack user in', need: 1, by: 'carol', approver: APPROVERS.U3, want: undefined },
    { name: 'Slack: on-call below tech lead', need: 2, by: 'alice', approver: APPROVERS.U1, want: `alice is listed at level 1 (on-call engineer); ${NEED_2}` },
    { name: 'Slack: listed without a level', need: 2, by: 'carol', approver: APPROVERS.U3, want: `carol is not listed with a level under notifications.approvers; ${NEED_2}` },
    { name: 'Slack: the tech lead', need: 2, by: 'Bob', approver: APPROVERS.U2, want: undefined },
    { name: 'API: the tech lead by name, any case, trimmed', need: 2, by: ' BOB ', approver: undefined, want: undefined },
    { name: 'API: a name nobody lists', need: 2, by: 'mallory', approver: undefined, want: `mallory is not listed with a level under notifications.approvers; ${NEED_2}` },
    { name: 'API: on-call by name', need: 2, by: 'alice', approver: undefined, want: `alice is listed at level 1 (on-call engineer); ${NEED_2}` },
    { name: 'API: a name listed twice counts at its higher level', need: 3, by: 'bob', approver: undefined, want: undefined },
    { name: 'Slack: the pressing account is what counts, not its name elsewhere', need: 3, by: 'Bob', approver: APPROVERS.U2, want: 'Bob is listed at level 2 (tech lead); considered rollbacks need approval at level 3 (engineering manager) or higher (notifications.approvalLevel)' },
  ])('$name', ({ need, by, approver, want }) => {
    expect(approvalRefusal({ approvers: APPROVERS, approvalLevel: need }, { by, ...(approver ? { approver } : {}) })).toBe(want);
  });
});
