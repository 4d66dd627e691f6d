// What committed facts still owe the outbox (ADR 0013). A decision, a rollback's outcome or verification and a
// recovery verdict are each committed before their notifications are planned; a crash in between leaves the fact
// with no outbox row. Each notification's key starts with `release-<id>:<event>:<decision id>:`, so a fact whose
// event has no row under that prefix was never planned. Planning it again is safe: the keys are unique.
import type Database from 'better-sqlite3';
import type { RecoveryOutcome, RecoveryReading } from '../../core/recovery.js';
import type { OwedAnnouncement } from '../../daemon/guard-events.js';
import type { RollbackOutcome, VerifyOutcome } from '../../ports/actuator.js';

/** SQL: no outbox row was planned for `event` of the decision `decision` (a column) of release `release`. */
function unplanned(events: readonly string[], release: string, decision: string): string {
  // A key range instead of LIKE, so the unique index on `key` answers it (';' is the character after ':').
  const prefix = (event: string, end: string) => `'release-' || ${release} || ':${event}:' || ${decision} || '${end}'`;
  return events.map((e) => `NOT EXISTS (SELECT 1 FROM outbox o WHERE o.key >= ${prefix(e, ':')} AND o.key < ${prefix(e, ';')})`).join(' AND ');
}

/**
 * Since `since` (Unix ms), oldest first within each kind, decisions before the rollback outcomes they led to and
 * those before recovery verdicts: the order in which they would have been announced.
 */
export function owedAnnouncements(db: Database.Database, since: number): OwedAnnouncement[] {
  const from = new Date(since).toISOString();
  // Enforced decisions of live releases: shadow ones are never sent, a replay's never happened, and a superseded
  // release's last decisions were logged and deliberately not acted on.
  const decisions = db
    .prepare(
      `SELECT d.id, r.namespace || '/' || r.deployment AS target FROM decisions d JOIN releases r ON r.id = d.release_id
        WHERE d.mode = 'enforce' AND d.at >= ? AND r.source = 'live' AND r.outcome IS NOT 'superseded' AND ${unplanned(['decision'], 'd.release_id', 'd.id')}
        ORDER BY d.id`,
    )
    .all(from) as { id: number; target: string }[];
  // How a rollback of the daemon's ended, once it has ended: refused, failed or skipped at the patch, or rolled out
  // and verified. One still being verified is announced by its verification. Dry runs only said what they would do.
  const finished = db
    .prepare(
      `SELECT b.decision_id, b.namespace || '/' || b.deployment AS target, b.outcome, b.from_revision, b.to_revision, b.images, b.refusal_code, b.detail, b.verification, b.verification_detail
         FROM rollbacks b
        WHERE b.by = 'rollback-guard' AND b.dry_run = 0 AND b.decision_id IS NOT NULL AND b.release_id IS NOT NULL AND b.finished_at >= ?
          AND (b.outcome IN ('refused', 'failed', 'skipped') OR (b.outcome = 'rolled-back' AND b.verification IS NOT NULL))
          AND ${unplanned(['rollback-complete', 'rollback-failed', 'rollback-refused'], 'b.release_id', 'b.decision_id')}
        ORDER BY b.id`,
    )
    .all(from) as { decision_id: number; target: string; outcome: RollbackOutcome['kind']; from_revision: string | null; to_revision: string | null; images: string | null; refusal_code: string | null; detail: string | null; verification: string | null; verification_detail: string | null }[];
  const recoveries = db
    .prepare(
      `SELECT b.decision_id, b.namespace || '/' || b.deployment AS target, b.recovery, b.recovery_at, b.recovery_detail, b.verified_at FROM rollbacks b
        WHERE b.dry_run = 0 AND b.decision_id IS NOT NULL AND b.release_id IS NOT NULL AND b.recovery IS NOT NULL AND b.recovery_at >= ?
          AND ${unplanned(['recovery'], 'b.release_id', 'b.decision_id')}
        ORDER BY b.id`,
    )
    .all(from) as { decision_id: number; target: string; recovery: RecoveryOutcome; recovery_at: string; recovery_detail: string | null; verified_at: string | null }[];
  return [
    ...decisions.map((d): OwedAnnouncement => ({ kind: 'decision', decisionId: d.id, target: d.target })),
    ...finished.map((b): OwedAnnouncement => {
      const verification: VerifyOutcome | undefined = b.verification ? { kind: b.verification === 'rollback-complete' ? 'complete' : 'failed', detail: b.verification_detail ?? '' } : undefined;
      return { kind: 'rollback-finished', decisionId: b.decision_id, target: b.target, outcome: outcomeOf(b), ...(verification ? { verification } : {}) };
    }),
    ...recoveries.map((b): OwedAnnouncement => {
      const at = Date.parse(b.recovery_at);
      return {
        kind: 'recovery-judged', decisionId: b.decision_id, target: b.target, at, since: b.verified_at ? Date.parse(b.verified_at) : at, outcome: b.recovery,
        readings: b.recovery_detail ? (JSON.parse(b.recovery_detail) as RecoveryReading[]) : [],
      };
    }),
  ];
}

/** A rollbacks row back as the actuator's outcome. */
function outcomeOf(b: { outcome: RollbackOutcome['kind']; from_revision: string | null; to_revision: string | null; images: string | null; refusal_code: string | null; detail: string | null }): RollbackOutcome {
  switch (b.outcome) {
    case 'rolled-back':
    case 'would-roll-back':
      return { kind: b.outcome, fromRevision: b.from_revision ?? '?', toRevision: b.to_revision ?? '?', images: b.images ? (JSON.parse(b.images) as string[]) : [] };
    case 'refused':
      return { kind: 'refused', code: b.refusal_code ?? 'unknown', reason: b.detail ?? '' };
    case 'skipped':
    case 'failed':
      return { kind: b.outcome, reason: b.detail ?? '' };
  }
}
