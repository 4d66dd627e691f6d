// Rows of the decision log's own tables as SQLite returns them (snake_case columns, times as ISO text).

export interface ReleaseRow {
  id: number;
  namespace: string;
  deployment: string;
  started_at: string;
  severity: string;
  window_seconds: number;
  window_ends_at: string;
  source: string;
  rules_hash: string;
  outcome: string | null;
  ended_at: string | null;
  last_evaluated_at: string | null;
}

export interface DecisionRow {
  id: number;
  release_id: number;
  at: string;
  action: string;
  tier: string | null;
  rule: string | null;
  level: number | null;
  mode: string;
  value: number | null;
  threshold: number | null;
  rules_hash: string;
  evidence: string;
}
