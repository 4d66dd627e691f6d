// DEPLOY_SUCCESS's metrics (checklist 6.2: error rate, P95 latency, active sessions) as a person reads them, from
// one query reading each. Pure. A reading that is not one number says so, never a made-up figure.
import type { ScalarReading } from './query-outcome.js';
import type { SummaryFormat } from './rules-schema.js';

/** Significant digits kept: enough to compare releases, few enough to read at a glance. */
const DIGITS = 3;

const round = (v: number) => String(Number(v.toPrecision(DIGITS)));

export function formatSummary(reading: ScalarReading, format: SummaryFormat): string {
  switch (reading.kind) {
    case 'no-data':
      return 'n/a (no data)';
    case 'several-series':
      return `n/a (the query gave ${reading.count} series, not one)`;
    case 'error':
      return 'n/a (query failed)';
    case 'value':
      break;
  }
  const v = reading.value;
  if (!Number.isFinite(v)) return Number.isNaN(v) ? 'n/a (NaN)' : v > 0 ? '+Inf' : '-Inf';
  if (format === 'percent') return `${round(v * 100)} %`;
  if (format === 'seconds') return Math.abs(v) < 1 ? `${round(v * 1000)} ms` : `${round(v)} s`;
  return round(v);
}
