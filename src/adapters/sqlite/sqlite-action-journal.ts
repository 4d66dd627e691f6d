// The action journal in the decision log file (rollbacks table and release identity columns).
import type Database from 'better-sqlite3';
import { decisionText } from '../../core/comparison-text.js';
import type { ActionJournal } from '../../ports/action-journal.js';
import { pageOfDecision } from './page-of-decision.js';
import { automaticRollbacks, recordApprovalOutcome, recordRecovery, recordRollback, recordVerification, setReleaseIdentity } from './rollback-log.js';

/** The reason a reconciled rollback is annotated with: its rule's comparison, or a manual trigger's note. */
function reasonOf(r: { rule: string | null; value: number | null; threshold: number | null; evidence: string }): string {
  const evidence = JSON.parse(r.evidence) as { note?: string; comparison?: 'above' | 'below' };
  return `${decisionText({ ...r, evidence })}${r.rule ? ' (completed after a restart)' : ''}`;
}

export class SqliteActionJournal implements ActionJournal {
  constructor(private readonly db: Database.Database) {}

  releaseIdentified(releaseId: number, identity: { revision: string; images: readonly string[]; changeCause?: string }): void {
    setReleaseIdentity(this.db, releaseId, identity);
  }

  rollbackAttempted(a: Parameters<ActionJournal['rollbackAttempted']>[0]): number {
    return recordRollback(this.db, a);
  }

  rollbackVerified(rollbackId: number, v: Parameters<ActionJournal['rollbackVerified']>[1], at: number): boolean {
    return recordVerification(this.db, rollbackId, v, at);
  }

  unjudgedRecoveries(since: number): NonNullable<ReturnType<NonNullable<ActionJournal['unjudgedRecoveries']>>> {
    const rows = this.db
      .prepare(
        `SELECT id AS rollbackId, decision_id AS decisionId, release_id AS releaseId, namespace, deployment, verified_at AS verifiedAt FROM rollbacks
          WHERE verification = 'rollback-complete' AND recovery IS NULL AND dry_run = 0 AND decision_id IS NOT NULL AND release_id IS NOT NULL AND verified_at >= ?
            -- a release started since the patch ended the check without a verdict (a new version is the question
            -- now), even one that started while the rollout was still being verified
            AND NOT EXISTS (SELECT 1 FROM releases n WHERE n.source = 'live' AND n.namespace = rollbacks.namespace AND n.deployment = rollbacks.deployment AND n.started_at > rollbacks.finished_at)
          ORDER BY id`,
      )
      .all(new Date(since).toISOString()) as { rollbackId: number; decisionId: number; releaseId: number; namespace: string; deployment: string; verifiedAt: string }[];
    return rows.map((r) => ({ ...r, verifiedAt: Date.parse(r.verifiedAt) }));
  }

  recoveryJudged(rollbackId: number, outcome: Parameters<ActionJournal['recoveryJudged']>[1], readings: Parameters<ActionJournal['recoveryJudged']>[2], at: number): boolean {
    return recordRecovery(this.db, rollbackId, outcome, readings, at);
  }

  unfinishedRollbacks(since: number): ReturnType<ActionJournal['unfinishedRollbacks']> {
    const rows = this.db
      .prepare(
        `SELECT d.id AS decisionId, d.release_id AS releaseId, r.namespace, r.deployment, r.revision, d.rule, d.value, d.threshold, d.evidence
           FROM decisions d JOIN releases r ON r.id = d.release_id
          -- replays written into the same log (replay --db) decided nothing that happened
          -- a superseded release's decision was logged, not acted on: its revision is gone, so it never will be
          WHERE d.action = 'rollback' AND d.mode = 'enforce' AND d.at >= ? AND r.source = 'live' AND r.outcome IS NOT 'superseded'
            AND NOT EXISTS (SELECT 1 FROM rollbacks b WHERE b.decision_id = d.id)
          ORDER BY d.id`,
      )
      .all(new Date(since).toISOString()) as { decisionId: number; releaseId: number; namespace: string; deployment: string; revision: string | null; rule: string | null; value: number | null; threshold: number | null; evidence: string }[];
    return rows.map((r) => ({
      decisionId: r.decisionId,
      releaseId: r.releaseId,
      namespace: r.namespace,
      deployment: r.deployment,
      ...(r.revision !== null ? { revision: r.revision } : {}),
      reason: reasonOf(r),
    }));
  }

  unverifiedRollbacks(since: number): NonNullable<ReturnType<NonNullable<ActionJournal['unverifiedRollbacks']>>> {
    const rows = this.db
      .prepare(
        `SELECT b.id AS rollbackId, b.decision_id AS decisionId, b.namespace, b.deployment, b.from_revision AS fromRevision, b.to_revision AS toRevision, b.images
           FROM rollbacks b
          WHERE b.outcome = 'rolled-back' AND b.verification IS NULL AND b.dry_run = 0 AND b.decision_id IS NOT NULL AND b.finished_at >= ?
            -- a release started since the patch: the Deployment's rollout is its now, not the rollback's
            AND NOT EXISTS (SELECT 1 FROM releases n WHERE n.source = 'live' AND n.namespace = b.namespace AND n.deployment = b.deployment AND n.started_at > b.finished_at)
          ORDER BY b.id`,
      )
      .all(new Date(since).toISOString()) as { rollbackId: number; decisionId: number; namespace: string; deployment: string; fromRevision: string | null; toRevision: string | null; images: string | null }[];
    return rows.map((r) => ({ rollbackId: r.rollbackId, decisionId: r.decisionId, namespace: r.namespace, deployment: r.deployment, outcome: { kind: 'rolled-back', fromRevision: r.fromRevision ?? '?', toRevision: r.toRevision ?? '?', images: r.images ? (JSON.parse(r.images) as string[]) : [] } }));
  }

  unactedApprovals(since: number): { decisionId: number }[] {
    return this.db
      .prepare(
        `SELECT a.decision_id AS decisionId FROM approvals a JOIN decisions p ON p.id = a.decision_id JOIN releases r ON r.id = p.release_id
          WHERE a.verdict = 'approved' AND a.outcome IS NULL AND a.at >= ? AND r.source = 'live' AND r.outcome IS NULL
            AND NOT EXISTS (SELECT 1 FROM rollbacks b WHERE b.decision_id = a.decision_id)
          ORDER BY a.at`,
      )
      .all(new Date(since).toISOString()) as { decisionId: number }[];
  }

  approvalActed(decisionId: number, outcome: { ok: boolean; detail: string }, at: number): void {
    recordApprovalOutcome(this.db, decisionId, outcome, at);
  }

  decidedManualPages(releaseId: number): number[] {
    const rows = this.db
      .prepare(`SELECT p.at FROM decisions p JOIN approvals a ON a.decision_id = p.id WHERE p.release_id = ? AND p.rule IS NULL AND p.action = 'page'`)
      .pluck()
      .all(releaseId) as string[];
    return rows.map((at) => Date.parse(at));
  }

  declinedRulePages(releaseId: number): { rule: string; pagedAt: number }[] {
    const rows = this.db
      .prepare(`SELECT p.rule, p.at FROM decisions p JOIN approvals a ON a.decision_id = p.id WHERE p.release_id = ? AND p.rule IS NOT NULL AND p.action = 'page' AND a.verdict = 'declined'`)
      .all(releaseId) as { rule: string; at: string }[];
    return rows.map((r) => ({ rule: r.rule, pagedAt: Date.parse(r.at) }));
  }

  approverOf(decisionId: number): string | undefined {
    // An approval on an escalation is recorded on its page; look at both.
    const row = this.db.prepare(`SELECT by FROM approvals WHERE decision_id = ? OR decision_id = ?`).get(decisionId, pageOfDecision(this.db, decisionId) ?? null) as { by: string } | undefined;
    return row?.by;
  }

  automaticRollbacks(releaseId: number): number {
    return automaticRollbacks(this.db, releaseId);
  }
}
