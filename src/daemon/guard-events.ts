// What the daemon tells people about, besides the engine's decisions: the notification matrix of the release
// checklist (6.1) plus the guard's own trouble. A sink turns these into pages and messages (paging adapters).
import type { StoredDecision } from '../ports/decision-store.js';
import type { RecoveryOutcome, RecoveryReading } from '../core/recovery.js';
import type { RollbackOutcome, VerifyOutcome } from '../ports/actuator.js';

export type GuardEvent =
  | { kind: 'release-started'; releaseId: number; target: string; revision?: string; images?: string[]; severity: string; at: number; adopted: boolean; changeCause?: string; manager?: string; tracking?: string }
  /** `summary`: a promote's `notifications.summary` readings, formatted (DEPLOY_SUCCESS). */
  | { kind: 'decision'; decision: StoredDecision; target: string; summary?: Record<string, string> }
  | { kind: 'rollback-started'; decision: StoredDecision; target: string; at: number }
  /** A considered rollback a person approved is starting. */
  | { kind: 'approved-rollback-started'; decision: StoredDecision; target: string; at: number; by: string }
  /** `summary`: when it completed, the `notifications.summary` readings ROLLBACK_COMPLETE uses (AFFECTED_COUNT). */
  /** `recoveryChecked`: a rollback that rolled out whose recovery (checklist 5.3) is now being judged; its verdict follows. */
  | { kind: 'rollback-finished'; decision: StoredDecision; target: string; at: number; outcome: RollbackOutcome; verification?: { kind: 'complete' | 'failed'; detail: string }; summary?: Record<string, string>; recoveryChecked?: boolean }
  /** After a rollback rolled out: did the service recover (checklist 5.3)? `since`: when the check began. */
  | { kind: 'recovery-judged'; decision: StoredDecision; target: string; at: number; since: number; outcome: RecoveryOutcome; readings: RecoveryReading[] }
  | { kind: 'guard-blind'; at: number; since: number; lastError: string }
  | { kind: 'guard-sighted'; at: number; blindForMs: number };

export interface GuardEventSink {
  emit(event: GuardEvent): void | Promise<void>;
  /**
   * Facts committed since `since` (Unix ms) whose notifications this sink never planned: a crash came between the
   * commit and the outbox. A restart emits them again (ADR 0013). A sink that stores nothing owes nothing.
   */
  owed?(since: number): OwedAnnouncement[];
  /**
   * When this sink last paged "guard blind" if no successful reading has followed it (Unix ms): a restart that is
   * still blind carries on from there instead of paging again.
   */
  blindSince?(): number | undefined;
}

/** A committed fact whose notifications were never planned, with what its announcement needs. */
export type OwedAnnouncement =
  | { kind: 'decision'; decisionId: number; target: string }
  | { kind: 'rollback-finished'; decisionId: number; target: string; outcome: RollbackOutcome; verification?: VerifyOutcome }
  | { kind: 'recovery-judged'; decisionId: number; target: string; at: number; since: number; outcome: RecoveryOutcome; readings: RecoveryReading[] };


/** No pagers configured: events still reach the log, nothing is sent. */
export const logOnlySink: GuardEventSink = { emit: () => {} };

/**
 * The primary sink (paging: it owes announcements and remembers blindness) plus others that only listen, such as
 * Kubernetes Events: theirs are called first, never awaited, and cannot fail the primary's.
 */
export function teeSink(primary: GuardEventSink, ...listeners: GuardEventSink[]): GuardEventSink {
  return {
    emit: (event) => {
      for (const l of listeners) {
        try {
          void Promise.resolve(l.emit(event)).catch(() => {});
        } catch {
          /* a listener's failure is its own (counted there) */
        }
      }
      return primary.emit(event);
    },
    ...(primary.owed ? { owed: primary.owed.bind(primary) } : {}),
    ...(primary.blindSince ? { blindSince: primary.blindSince.bind(primary) } : {}),
  };
}
