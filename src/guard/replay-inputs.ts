// What reached a release from outside its data, as replay inputs: manual triggers and approvals or declines, each
// at the time it was recorded. Replay applies an input before the first instant after it, as the daemon did live.

export type ReplayInput =
  /** `rollback-guard trigger`: an immediate one reverts, a considered one pages (and climbs the ladder). */
  | { kind: 'trigger'; at: number; tier: 'immediate' | 'considered'; note: string; decisionId?: number }
  /** A verdict on a page, named by its rule (null: a manual page) and when it went out. */
  | { kind: 'approval'; at: number; verdict: 'approved' | 'declined'; by: string; page: { rule: string | null; at: number }; decisionId?: number };
