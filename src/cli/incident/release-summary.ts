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
    const rollbackCompleteAt = rollbackCompletedAt(rollbacks);
    return {
      release,
      decisions: actions?.length ? all.filter((d) => actions.includes(d.action)) : all,
      detection,
      rollback,
      rollbacks,
      rollbackCompleteAt,
      timeToDetectMs: detection ? ms(detection.at) - ms(release.started_at) : undefined,
      timeToRecoverMs: detection && rollbackCompleteAt !== undefined ? ms(rollbackCompleteAt) - ms(detection.at) : undefined,
    };
  });
}
