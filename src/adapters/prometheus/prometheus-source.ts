// The metric-source port over a Prometheus HTTP API: instant queries, every failure returned as an explicit
// `error` outcome (never thrown, never a healthy value), warnings kept as evidence.
import { parseSampleValue, type QueryOutcome, type RangeOutcome } from '../../core/query-outcome.js';
import { PrometheusError } from '../../errors/prometheus-error.js';
import type { MetricSource } from '../../ports/metric-source.js';
import type { PrometheusClient } from './prometheus-client.js';

export class PrometheusSource implements MetricSource {
  constructor(private readonly client: PrometheusClient) {}

  async instant(query: string, at: number): Promise<QueryOutcome> {
    try {
      const r = await this.client.query(query, at);
      const warnings = r.warnings.length ? { warnings: r.warnings } : {};
      if (r.series.length === 0) return { kind: 'empty', ...warnings };
      return { kind: 'series', series: r.series.map((s) => ({ labels: s.labels, value: s.value })), ...warnings };
    } catch (err) {
      return errorOutcome(err);
    }
  }

  async range(query: string, start: number, end: number, stepMs: number): Promise<RangeOutcome> {
    try {
      const r = await this.client.queryRange(query, start, end, stepMs);
      const warnings = r.warnings.length ? { warnings: r.warnings } : {};
      if (r.series.length === 0) return { kind: 'empty', ...warnings };
      return { kind: 'range', series: r.series.map((s) => ({ labels: s.labels, values: s.values.map(([, v]) => parseSampleValue(v)) })), ...warnings };
    } catch (err) {
      return errorOutcome(err);
    }
  }
}

function errorOutcome(err: unknown): { kind: 'error'; error: string; refused?: true } {
  if (err instanceof PrometheusError) return { kind: 'error', error: `${err.code}: ${err.message}`, ...(err.code === 'RG_PROM_BAD_QUERY' ? { refused: true as const } : {}) };
  return { kind: 'error', error: err instanceof Error ? err.message : String(err) };
}
