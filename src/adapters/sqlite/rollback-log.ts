// The Kubernetes side of the decision log: rollback attempts with their outcome and verification, and the
// identity of releases (revision, images, change cause) so a restarted guard finds a release it already knew.
import type Database from 'better-sqlite3';
import { toJson } from '../../core/json.js';
import type { DeploymentRef, RollbackOutcome, VerifyOutcome } from '../../ports/actuator.js';
import { DecisionLogError } from '../../errors/decision-log-error.js';

const iso = (ms: number) => new Date(ms).toISOString();

export interface RollbackAttempt extends DeploymentRef {
  decisionId?: number;
  releaseId?: number;
  requestedAt: number;
  finishedAt: number;
  by: string;
  reason: string;
  strategy: string;
  dryRun: boolean;
  outcome: RollbackOutcome;
}

export interface StoredRollback {
  id: number;
  namespace: string;
  deployment: string;
  outcome: RollbackOutcome['kind'];
  from_revision: string | null;
  to_revision: string | null;
  refusal_code: string | null;
  detail: string | null;
  verification: string | null;
}

function write<T>(what: string, run: () => T): T {
  try {
    return run();
  } catch (err) {
    throw new DecisionLogError(`cannot ${what} in the decision log: ${(err as Error).message}`, { cause: err });
  }
}

/** Records one rollback attempt, whatever its outcome; returns its id (for the verification). */
export function recordRollback(db: Database.Database, a: RollbackAttempt): number {
  const o = a.outcome;
  const moved = o.kind === 'rolled-back' || o.kind === 'would-roll-back' ? o : undefined;
  return write('record a rollback', () =>
    Number(
      db
        .prepare(
          `INSERT INTO rollbacks (decision_id, release_id, namespace, deployment, requested_at, finished_at, by, reason, strategy, dry_run, outcome,
             from_revision, to_revision, images, refusal_code, detail) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
        )
        .run(
          a.decisionId ?? null, a.releaseId ?? null, a.namespace, a.deployment, iso(a.requestedAt), iso(a.finishedAt), a.by, a.reason, a.strategy, a.dryRun ? 1 : 0, o.kind,
          moved?.fromRevision ?? null, moved?.toRevision ?? null, moved ? JSON.stringify(moved.images) : null,
          o.kind === 'refused' ? o.code : null, o.kind === 'refused' || o.kind === 'skipped' || o.kind === 'failed' ? o.reason : null,
        ).lastInsertRowid,
    ),
  );
}

/**
 * A rollback's verification; false when it had one already (never overwritten): of two processes verifying the
 * same rollout (an old leader still running, the new one resuming it), only the first records and announces it.
 */
export function recordVerification(db: Database.Database, rollbackId: number, v: VerifyOutcome, at: number): boolean {
  return write('record a rollback verification', () =>
    db.prepare(`UPDATE rollbacks SET verification = ?, verification_detail = ?, verified_at = ? WHERE id = ? AND verification IS NULL`).run(`rollback-${v.kind}`, v.detail, iso(at), rollbackId).changes === 1,
  );
}

/** The recovery check's verdict on a rollback (checklist 5.3); false when it had one already (never overwritten). */
export function recordRecovery(db: Database.Database, rollbackId: number, outcome: string, readings: unknown, at: number): boolean {
  return write('record a recovery check', () => db.prepare(`UPDATE rollbacks SET recovery = ?, recovery_at = ?, recovery_detail = ? WHERE id = ? AND recovery IS NULL`).run(outcome, iso(at), toJson(readings), rollbackId).changes === 1);
}

/** What acting on an approval did (the approved rollback's result), on its approvals row. */
export function recordApprovalOutcome(db: Database.Database, decisionId: number, outcome: { ok: boolean; detail: string }, at: number): void {
  write('record what an approval did', () => db.prepare(`UPDATE approvals SET outcome = ?, outcome_at = ? WHERE decision_id = ?`).run(`${outcome.ok ? 'ok' : 'failed'}: ${outcome.detail}`, iso(at), decisionId));
}

/** Automatic rollbacks carried out for a release (at most one is allowed). */
export function automaticRollbacks(db: Database.Database, releaseId: number): number {
  const row = db.prepare(`SELECT count(*) AS n FROM rollbacks WHERE release_id = ? AND by = 'rollback-guard' AND outcome = 'rolled-back' AND dry_run = 0`).get(releaseId) as { n: number };
  return row.n;
}

export function rollbacksOf(db: Database.Database, ref: DeploymentRef): StoredRollback[] {
  return db
    .prepare(`SELECT id, namespace, deployment, outcome, from_revision, to_revision, refusal_code, detail, verification FROM rollbacks WHERE namespace = ? AND deployment = ? ORDER BY id`)
    .all(ref.namespace, ref.deployment) as StoredRollback[];
}

export interface ReleaseIdentity {
  revision: string;
  images: readonly string[];
  changeCause?: string;
}

/** Stores what a release is on the cluster, beside the release the decision store started. */
export function setReleaseIdentity(db: Database.Database, releaseId: number, id: ReleaseIdentity): void {
  write('record a release revision', () =>
    db.prepare(`UPDATE releases SET revision = ?, images = ?, change_cause = ? WHERE id = ?`).run(id.revision, JSON.stringify(id.images), id.changeCause ?? null, releaseId),
  );
}

/** The latest release of this revision of the target the log knows, if any: adoption resumes it. */
export function findRelease(db: Database.Database, ref: DeploymentRef, revision: string): { id: number; startedAt: number; outcome: string | null } | undefined {
  const row = db
    .prepare(`SELECT id, started_at, outcome FROM releases WHERE source = 'live' AND namespace = ? AND deployment = ? AND revision = ? ORDER BY id DESC LIMIT 1`)
    .get(ref.namespace, ref.deployment, revision) as { id: number; started_at: string; outcome: string | null } | undefined;
  return row && { id: row.id, startedAt: Date.parse(row.started_at), outcome: row.outcome };
}
