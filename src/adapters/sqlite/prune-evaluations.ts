// Retention of the decision log: evaluations are >99 % of its rows and only matter while someone may still
// investigate; releases, baselines, decisions, rules files and whatever other features log (rollbacks,
// notifications, approvals) are kept forever.
import type Database from 'better-sqlite3';

export const DEFAULT_RETENTION_MS = 30 * 86_400_000;
export const DEFAULT_PRUNE_BATCH = 5000;

export interface PruneResult {
  deleted: number;
  batches: number;
  cutoff: string;
}

/**
 * Deletes evaluations older than `olderThanMs` (before now - olderThanMs) in transactions of at most `batchSize`
 * rows, so a writer (the daemon's tick) never waits behind one long delete. It walks release by release through
 * the (release_id, at) index, so no extra index is needed and each batch is a small index range. The daemon can
 * call it at a quiet moment; `onBatch` lets a caller yield or stop between batches (return false to stop).
 */
export function pruneEvaluations(
  db: Database.Database,
  olderThanMs: number,
  batchSize: number = DEFAULT_PRUNE_BATCH,
  options: { now?: number; onBatch?: (deletedSoFar: number) => boolean | void } = {},
): PruneResult {
  const cutoff = new Date((options.now ?? Date.now()) - olderThanMs).toISOString();
  const size = Math.max(1, Math.floor(batchSize));
  // Evaluations are never before their release's start, so only releases started before the cutoff can have any.
  const releases = db.prepare('SELECT id FROM releases WHERE started_at < ? ORDER BY id').pluck().all(cutoff) as number[];
  const del = db.prepare('DELETE FROM evaluations WHERE id IN (SELECT id FROM evaluations WHERE release_id = ? AND at < ? LIMIT ?)');
  const batch = db.transaction((releaseId: number) => del.run(releaseId, cutoff, size).changes);
  let deleted = 0;
  let batches = 0;
  for (const id of releases) {
    for (;;) {
      const n = batch(id);
      if (n === 0) break;
      deleted += n;
      batches++;
      if (options.onBatch?.(deleted) === false) return { deleted, batches, cutoff };
      if (n < size) break;
    }
  }
  return { deleted, batches, cutoff };
}
