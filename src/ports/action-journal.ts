import type { RecoveryOutcome, RecoveryReading } from '../core/recovery.js';
import type { DeploymentRef, RollbackOutcome, VerifyOutcome } from './actuator.js';

/** What the daemon did about its decisions, beside the decisions themselves (the decision log's rollbacks). */
export interface ActionJournal {
  /** What a release is on the cluster (revision, images, change cause), so a restart recognises it. */
  releaseIdentified(releaseId: number, identity: { revision: string; images: readonly string[]; changeCause?: string }): void;
  /** One rollback attempt and its outcome; returns its id for the verification. */
  rollbackAttempted(a: DeploymentRef & { decisionId?: number; releaseId?: number; requestedAt: number; finishedAt: number; by: string; reason: string; strategy: string; dryRun: boolean; outcome: RollbackOutcome }): number;
  /** Records the verification; false when another process recorded one first (it announces it, not this one). */
  rollbackVerified(rollbackId: number, v: VerifyOutcome, at: number): boolean;
  /** Rollbacks that rolled out since `since` with no recovery verdict yet: a restart resumes their check. */
  unjudgedRecoveries?(since: number): { rollbackId: number; decisionId: number; releaseId: number; namespace: string; deployment: string; verifiedAt: number }[];
  /** The recovery check's verdict on a rollback that rolled out (checklist 5.3); false if it had one already. */
  recoveryJudged(rollbackId: number, outcome: RecoveryOutcome, readings: readonly RecoveryReading[], at: number): boolean;
  /**
   * Rollback decisions committed (intent) with no attempt recorded (outcome): a crash came between them. The
   * daemon reconciles these against the cluster at start instead of repeating or forgetting them.
   */
  unfinishedRollbacks(since: number): { decisionId: number; releaseId: number; namespace: string; deployment: string; reason: string; revision?: string }[];
  /**
   * Rollbacks patched but never verified (the daemon stopped or crashed while the rollout was verified in the
   * background), newest release not started since: verified and announced after the restart.
   */
  unverifiedRollbacks?(since: number): { rollbackId: number; decisionId: number; namespace: string; deployment: string; outcome: Extract<RollbackOutcome, { kind: 'rolled-back' }> }[];
  /** Approved pages since `since` whose rollback was never attempted (a crash came after the approval's commit). */
  unactedApprovals?(since: number): { decisionId: number }[];
  /** What acting on an approval did, on its approvals row. */
  approvalActed?(decisionId: number, outcome: { ok: boolean; detail: string }, at: number): void;
  /** When each manual page (no rule) of a release that has a verdict went out (Unix ms). */
  decidedManualPages?(releaseId: number): number[];
  /** Rule pages of a release someone declined: the rule, and when its page went out. */
  declinedRulePages?(releaseId: number): { rule: string; pagedAt: number }[];
  /** Who approved a decision (the approvals table), for messages and the rollback record. */
  approverOf?(decisionId: number): string | undefined;
  /** Automatic rollbacks already carried out for a release (at most one is allowed). */
  automaticRollbacks(releaseId: number): number;
}
