// What happened to one release, as log and report show it: when the guard detected trouble, when the rollback
// was complete, and how long each took.
import { type DecisionLogReader, type DecisionRow, type ReleaseRow, type Row, rollbackCompletedAt } from '../../adapters/sqlite/decision-log-reader.js';

export interface ReleaseSummary {
  release: ReleaseRow;
  decisions: DecisionRow[];
  /** First rollback or page that was acted on (shadow decisions are only logged, so they detect nothing). */
  detection?: DecisionRow;
  rollback?: DecisionRow;
  rollbacks: Row[];
  /** A manual rollback (`rollback-guard rollback`) that reverted this release, when one did. */
  manualRollback?: Row;
  /** From the rollbacks table when this log has one (verified, else finished); undefined otherwise. */
  rollbackCompleteAt?: string;
  timeToDetectMs?: number;
  timeToRecoverMs?: number;
}

const ms = (iso: string) => Date.parse(iso);

export function summarizeReleases(reader: DecisionLogReader, releases: readonly ReleaseRow[], actions?: readonly string[]): ReleaseSummary[] {
  const ids = releases.map((r) => r.id);
  const byRelease = new Map<number, DecisionRow[]>();
  for (const d of reader.decisions(ids)) {
    const list = byRelease.get(d.release_id) ?? [];
    list.push(d);
    byRelease.set(d.release_id, list);
  }
  const rollbackRows = new Map<number, Row[]>();
  for (const r of reader.related('rollbacks', { releaseIds: ids })) {
    const id = Number(r.release_id);
    rollbackRows.set(id, [...(rollbackRows.get(id) ?? []), r]);
  }
  return releases.map((release) => {
    const all = byRelease.get(release.id) ?? [];
    const acted = all.filter((d) => d.mode !== 'shadow');
    const detection = acted.find((d) => d.action === 'rollback' || d.action === 'page');
    const rollback = acted.find((d) => d.action === 'rollback');
    const rollbacks = rollbackRows.get(release.id) ?? [];
    const manualRollback = rollbacks.find((b) => b.decision_id === null && b.dry_run === 0 && b.outcome === 'rolled-back');
    // A manual rollback with no decision before it: the person asking for it is when trouble was known.
    const detectedAt = detection ? ms(detection.at) : manualRollback ? ms(String(manualRollback.requested_at)) : undefined;
    const rollbackCompleteAt = rollbackCompletedAt(rollbacks);
    return {
      release,
      decisions: actions?.length ? all.filter((d) => actions.includes(d.action)) : all,
      detection,
      rollback,
      rollbacks,
      rollbackCompleteAt,
      ...(manualRollback ? { manualRollback } : {}),
      timeToDetectMs: detectedAt !== undefined ? detectedAt - ms(release.started_at) : undefined,
      timeToRecoverMs: detectedAt !== undefined && rollbackCompleteAt !== undefined ? ms(rollbackCompleteAt) - detectedAt : undefined,
    };
  });
}
