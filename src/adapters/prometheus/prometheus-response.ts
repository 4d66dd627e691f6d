// Typed parsing of Prometheus HTTP API answers (/api/v1/query, /api/v1/query_range). Anything that is not the
// API's JSON envelope is a PrometheusError, so a proxy's HTML page can never be read as "no data".
import { parseSampleValue, type Labels } from '../../core/query-outcome.js';
import { PrometheusError } from '../../errors/prometheus-error.js';

export interface InstantSeries {
  labels: Labels;
  /** Unix ms of the sample. */
  at: number;
  value: number;
}

export interface RangeSeries {
  labels: Labels;
  /** [unix seconds, value string] exactly as Prometheus sent them (recordings keep its spelling). */
  values: [number, string][];
}

export type InstantResult = { series: InstantSeries[]; warnings: string[] };
export type RangeResult = { series: RangeSeries[]; warnings: string[] };

interface Envelope {
  status: 'success' | 'error';
  data?: { resultType?: string; result?: unknown };
  errorType?: string;
  error?: string;
  warnings?: string[];
}

/** Parses the body text; `what` names the query for messages. */
export function parseEnvelope(status: number, body: string, contentType: string | undefined): Envelope {
  let json: unknown;
  try {
    json = JSON.parse(body);
  } catch {
    const snippet = body.replace(/\s+/g, ' ').trim().slice(0, 120);
    throw new PrometheusError('RG_PROM_BAD_RESPONSE', `HTTP ${status} with a body that is not JSON (${contentType ?? 'no content type'}): "${snippet}"; is the URL a Prometheus API, or is a proxy answering?`, { status });
  }
  if (typeof json !== 'object' || json === null || !('status' in json)) {
    throw new PrometheusError('RG_PROM_BAD_RESPONSE', `HTTP ${status} with JSON that is not a Prometheus API response (no "status")`, { status });
  }
  return json as Envelope;
}

function labelsOf(metric: unknown): Labels {
  return typeof metric === 'object' && metric !== null ? (metric as Labels) : {};
}

function sample(pair: unknown): [number, string] {
  if (!Array.isArray(pair) || typeof pair[0] !== 'number' || typeof pair[1] !== 'string') {
    throw new PrometheusError('RG_PROM_BAD_RESPONSE', `malformed sample ${JSON.stringify(pair)}; expected [<unix seconds>, "<value>"]`);
  }
  return [pair[0], pair[1]];
}

export function instantResult(env: Envelope): InstantResult {
  const data = env.data ?? {};
  const warnings = env.warnings ?? [];
  const result = data.result;
  switch (data.resultType) {
    case 'vector':
      if (!Array.isArray(result)) break;
      return {
        warnings,
        series: result.map((s: { metric?: unknown; value?: unknown }) => {
          const [t, v] = sample(s.value);
          return { labels: labelsOf(s.metric), at: Math.round(t * 1000), value: parseSampleValue(v) };
        }),
      };
    case 'scalar': {
      const [t, v] = sample(result);
      return { warnings, series: [{ labels: {}, at: Math.round(t * 1000), value: parseSampleValue(v) }] };
    }
    case 'matrix':
      throw new PrometheusError('RG_PROM_BAD_QUERY', 'the query returns a range vector (a [duration] selector without a function); a rule needs an instant value, e.g. wrap it in rate() or avg_over_time()');
    case 'string':
      throw new PrometheusError('RG_PROM_BAD_QUERY', 'the query returns a string; a rule needs a number');
  }
  throw new PrometheusError('RG_PROM_BAD_RESPONSE', `unexpected result type ${JSON.stringify(data.resultType)}`);
}

export function rangeResult(env: Envelope): RangeResult {
  const data = env.data ?? {};
  const warnings = env.warnings ?? [];
  if (data.resultType === 'matrix' && Array.isArray(data.result)) {
    return {
      warnings,
      series: data.result.map((s: { metric?: unknown; values?: unknown }) => ({
        labels: labelsOf(s.metric),
        values: Array.isArray(s.values) ? s.values.map(sample) : [],
      })),
    };
  }
  throw new PrometheusError('RG_PROM_BAD_RESPONSE', `unexpected result type ${JSON.stringify(data.resultType)} for a range query; expected "matrix"`);
}
