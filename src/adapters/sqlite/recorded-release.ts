// A release as a decision log recorded it, with what happened to it from outside the data: when its rollback
// rolled out, and the approvals, declines and manual triggers it received. Replay takes these as inputs at their
// recorded times, so a replay of a past release reproduces them instead of dropping them.
import type { Severity } from '../../core/rules-schema.js';
import type { ReplayInput } from '../../guard/replay-inputs.js';
import type { StableTarget } from '../../ports/decision-store.js';
import { DecisionLogError } from '../../errors/decision-log-error.js';
import { DecisionLogReader } from './decision-log-reader.js';

export interface RecordedRelease {
  id: number;
  namespace: string;
  deployment: string;
  startedAt: number;
  severity: Severity;
  windowMs: number;
  /** The pod selector its per-target queries were bound with, when the log recorded one. */
  selector?: Record<string, string>;
  /** A canary's stable Deployment, as it was bound. */
  stable?: StableTarget;
  /** The last moment the log speaks for this release: its end, its recovery verdict, or its last evaluation. */
  lastAt: number | undefined;
  /** When each of its rollbacks rolled out (verified), with the decision it carried out. */
  rollouts: { decision: { at: number; rule: string | null }; at: number }[];
  inputs: ReplayInput[];
}

export function readRecordedRelease(file: string, releaseId: number): RecordedRelease {
  const log = DecisionLogReader.open(file);
  try {
    const r = log.release(releaseId);
    if (!r) throw new DecisionLogError(`release ${releaseId} is not in decision log ${file}; list them with: rollback-guard log --db ${file}`);
    const rollbacks = log.related('rollbacks', { releaseIds: [releaseId] });
    const decisions = log.decisions([releaseId]);
    const rollouts: RecordedRelease['rollouts'] = [];
    const times = [r.ended_at, r.last_evaluated_at];
    for (const b of rollbacks) {
      const d = decisions.find((x) => x.id === b.decision_id);
      if (d && typeof b.verified_at === 'string' && b.verification === 'rollback-complete') rollouts.push({ decision: { at: Date.parse(d.at), rule: d.rule }, at: Date.parse(b.verified_at) });
      if (typeof b.recovery_at === 'string') times.push(b.recovery_at);
    }
    const inputs: ReplayInput[] = [];
    // Manual triggers are the decisions with no rule that are not a page's escalation or resolve.
    for (const d of decisions) {
      if (d.rule !== null || (d.action !== 'rollback' && d.action !== 'page')) continue;
      const note = (JSON.parse(d.evidence) as { note?: string }).note ?? 'manual trigger';
      inputs.push({ kind: 'trigger', at: Date.parse(d.at), tier: d.action === 'rollback' ? 'immediate' : 'considered', note, decisionId: d.id });
    }
    const approvals = log.optionalTable('approvals') ? log.related('approvals', { decisionIds: decisions.map((d) => d.id) }) : [];
    for (const a of approvals) {
      const page = decisions.find((d) => d.id === a.decision_id);
      if (!page || typeof a.at !== 'string') continue;
      inputs.push({ kind: 'approval', at: Date.parse(a.at), verdict: a.verdict === 'approved' ? 'approved' : 'declined', by: String(a.by), page: { rule: page.rule, at: Date.parse(page.at) }, decisionId: page.id });
    }
    inputs.sort((a, b) => a.at - b.at);
    const last = times.filter((t): t is string => typeof t === 'string').map(Date.parse);
    const bound = log.hasColumn('releases', 'selector') ? (log.db.prepare(`SELECT selector, stable FROM releases WHERE id = ?`).get(releaseId) as { selector: string | null; stable: string | null }) : undefined;
    return {
      id: r.id, namespace: r.namespace, deployment: r.deployment, startedAt: Date.parse(r.started_at), severity: r.severity as Severity, windowMs: r.window_seconds * 1000,
      lastAt: last.length ? Math.max(...last) : undefined, rollouts, inputs,
      ...(bound?.selector ? { selector: JSON.parse(bound.selector) as Record<string, string> } : {}),
      ...(bound?.stable ? { stable: JSON.parse(bound.stable) as StableTarget } : {}),
    };
  } finally {
    log.close();
  }
}
