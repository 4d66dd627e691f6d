import type { QueryOutcome, RangeOutcome } from '../core/query-outcome.js';

/**
 * Where query results come from: a recording, or (later) a Prometheus HTTP API. Implementations only fetch;
 * they never judge. A failure is returned as an `error` outcome, never thrown and never a healthy value.
 */
export interface MetricSource {
  /** The result of `query` evaluated at `at` (Unix ms). */
  instant(query: string, at: number): Promise<QueryOutcome>;
  /**
   * The samples of `query` evaluated at start, start + step, ..., end (Unix ms), as a Prometheus range query gives
   * them: the same values as instant queries at those times. A judge rule's windows; sources without it cannot
   * serve one (its metrics read as an error).
   */
  range?(query: string, start: number, end: number, stepMs: number): Promise<RangeOutcome>;
}
