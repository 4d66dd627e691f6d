// Builds a recording (the replay format) from range queries: every query of a ruleset over [start, end] at a
// step. `record` writes it to a file; `replay --prometheus` replays it in memory, so both see identical data.
import type { RecordingFile } from '../recording/recording-source.js';
import type { PrometheusClient } from './prometheus-client.js';

export interface RecordedQuery {
  query: string;
  what: string;
}

export async function recordRange(client: PrometheusClient, queries: readonly RecordedQuery[], start: number, end: number, stepMs: number): Promise<{ recording: RecordingFile; warnings: string[] }> {
  const unique = [...new Map(queries.map((q) => [q.query, q])).values()];
  const warnings: string[] = [];
  const results = await Promise.all(
    unique.map(async (q) => {
      try {
        const r = await client.queryRange(q.query, start, end, stepMs);
        for (const w of r.warnings) warnings.push(`${q.what}: ${w}`);
        return [q.query, { resultType: 'matrix' as const, result: r.series.map((s) => ({ metric: { ...s.labels }, values: s.values })) }] as const;
      } catch (err) {
        // Name what the query is for: "rule error-rate-critical: Prometheus rejected the query ...".
        if (err instanceof Error) err.message = `${q.what}: ${err.message}`;
        throw err;
      }
    }),
  );
  return { recording: { version: 1, step: stepMs / 1000, range: { start: start / 1000, end: end / 1000 }, queries: Object.fromEntries(results) }, warnings };
}
