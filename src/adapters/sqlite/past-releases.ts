// Past releases for `backtest`, as the daemon's decision log recorded them: each live release that started in a
// time range, with what is known to have happened to it (kept, reverted by the guard or by a person, or unknown)
// and the selector its per-target queries were bound with. Read-only.
import type { KnownOutcome } from '../../core/backtest-verdict.js';
import type { Severity } from '../../core/rules-schema.js';
import type { StableTarget } from '../../ports/decision-store.js';
import { DecisionLogReader } from './decision-log-reader.js';

export interface PastRelease {
  namespace: string;
  deployment: string;
  startedAt: number;
  severity: Severity;
  /** Where it was found, said in the output. */
  source: 'decision-log' | 'releases-file' | 'replicaset';
  known: KnownOutcome;
  /** The known outcome in words, e.g. "rolled back by the guard (error-rate-critical)". */
  knownText: string;
  selector?: Record<string, string>;
  stable?: StableTarget;
  /** The decision log's release id. */
  id?: number;
}

/** Live releases that started in [since, until] (Unix ms), oldest first. */
export function pastReleasesFromLog(file: string, since: number, until: number): PastRelease[] {
  const log = DecisionLogReader.open(file);
  try {
    const rows = log
      .releases({ to: new Date(until).toISOString() })
      .filter((r) => r.source === 'live' && Date.parse(r.started_at) >= since)
      .reverse();
    const bound = log.hasColumn('releases', 'selector') ? log.db.prepare(`SELECT selector, stable FROM releases WHERE id = ?`) : undefined;
    const approvals = log.optionalTable('approvals');
    return rows.map((r) => {
      const decisions = log.decisions([r.id], ['rollback']).filter((d) => d.mode !== 'shadow');
      const first = decisions[0];
      // Verdicts on its pages: an approved one reverted it (by a person's decision); a declined one kept it.
      const verdicts = approvals
        ? (log.db.prepare(`SELECT a.verdict, a.by, a.at, d.rule FROM ${approvals} a JOIN decisions d ON d.id = a.decision_id WHERE d.release_id = ? ORDER BY a.at`).all(r.id) as { verdict: string; by: string; at: string; rule: string | null }[])
        : [];
      const approved = verdicts.find((v) => v.verdict === 'approved');
      const declined = verdicts.filter((v) => v.verdict === 'declined');
      let known: KnownOutcome;
      let knownText: string;
      if (r.outcome === 'promoted' || r.outcome === 'superseded') {
        known = { kind: 'kept' };
        knownText = r.outcome === 'promoted' ? 'kept (promoted)' : 'kept (a newer release followed)';
        if (declined.length) knownText += `; ${declined.map((v) => `page of ${v.rule ?? 'a manual trigger'} declined by ${v.by}`).join(', ')}`;
      } else if (r.outcome === 'rolled-back' && first?.rule != null) {
        known = { kind: 'reverted', at: Date.parse(first.at), by: 'guard' };
        knownText = `rolled back by the guard (${first.rule})`;
      } else if (r.outcome === 'rolled-back' && approved) {
        known = { kind: 'reverted', at: Date.parse(approved.at), by: 'person' };
        knownText = `rolled back on approval by ${approved.by} (page of ${approved.rule ?? 'a manual trigger'})`;
      } else if (r.outcome === 'rolled-back') {
        known = { kind: 'reverted', ...(first ? { at: Date.parse(first.at) } : {}), by: 'person' };
        knownText = 'rolled back by a person';
      } else {
        known = { kind: 'unknown' };
        knownText = r.outcome === null ? 'unknown (still guarded)' : `unknown (${r.outcome})`;
      }
      const sel = bound?.get(r.id) as { selector: string | null; stable: string | null } | undefined;
      return {
        namespace: r.namespace,
        deployment: r.deployment,
        startedAt: Date.parse(r.started_at),
        severity: r.severity as Severity,
        source: 'decision-log' as const,
        known,
        knownText,
        id: r.id,
        ...(sel?.selector ? { selector: JSON.parse(sel.selector) as Record<string, string> } : {}),
        ...(sel?.stable ? { stable: JSON.parse(sel.stable) as StableTarget } : {}),
      };
    });
  } finally {
    log.close();
  }
}
