// The page a page or escalation decision belongs to: the approval is recorded on it, and the approver found from
// it. One query for both, so the approval service and the journal cannot disagree about which page that is.
import type Database from 'better-sqlite3';

/**
 * The page's decision id: the decision itself when it is a page, else the latest page of the same rule at or
 * before it. `rule IS`: a manual trigger's page and its escalations have no rule (NULL); manual pages can overlap,
 * so an escalation of one names its page by when it went out (evidence.pagedAt, Unix ms; decisions' `at` is
 * `toISOString()` text, which strftime with %f reproduces).
 */
export function pageOfDecision(db: Database.Database, decisionId: number): number | undefined {
  const row = db
    .prepare(
      `SELECT p.id FROM decisions d JOIN decisions p ON p.release_id = d.release_id AND p.rule IS d.rule AND p.action = 'page' AND p.at <= d.at
          AND (json_extract(d.evidence, '$.pagedAt') IS NULL OR p.at = strftime('%Y-%m-%dT%H:%M:%fZ', json_extract(d.evidence, '$.pagedAt') / 1000.0, 'unixepoch'))
        WHERE d.id = ? AND d.action IN ('page', 'escalate')
        ORDER BY (p.id = d.id) DESC, p.at DESC, p.id DESC LIMIT 1`,
    )
    .pluck()
    .get(decisionId) as number | undefined;
  return row;
}
