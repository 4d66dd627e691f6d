import type { QueryOutcome } from '../core/query-outcome.js';

/**
 * Where query results come from: a recording, or (later) a Prometheus HTTP API. Implementations only fetch;
 * they never judge. A failure is returned as an `error` outcome, never thrown and never a healthy value.
 */
export interface MetricSource {
  /** The result of `query` evaluated at `at` (Unix ms). */
  instant(query: string, at: number): Promise<QueryOutcome>;
}
