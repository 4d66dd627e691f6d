// What one PromQL query returned at one instant. Anything that is not a number is an explicit outcome, so the
// engine can never mistake "no answer" for "healthy".

export type Labels = Readonly<Record<string, string>>;

/** One series' sample. `value` may be NaN or ±Infinity, exactly as Prometheus wrote it. */
export interface SeriesSample {
  labels: Labels;
  value: number;
}

export type QueryOutcome =
  /** One or more series answered (their values may still be NaN). */
  | { kind: 'series'; series: readonly SeriesSample[]; warnings?: readonly string[] }
  /** The query ran and matched nothing. */
  | { kind: 'empty'; warnings?: readonly string[] }
  /** The query could not be answered: connection, timeout, bad query, missing from a recording. */
  /** `refused`: the backend rejected the query itself (bad_data), rather than failing to answer it. */
  | { kind: 'error'; error: string; refused?: true };

/** One series' samples over a window (a judge's metric), oldest first; NaN kept as written. */
export interface RangeSeriesSamples {
  labels: Labels;
  values: readonly number[];
}

/** What one query returned over a window: the samples of each series, or an explicit outcome that is not data. */
export type RangeOutcome =
  | { kind: 'range'; series: readonly RangeSeriesSamples[]; warnings?: readonly string[] }
  | { kind: 'empty'; warnings?: readonly string[] }
  | { kind: 'error'; error: string; refused?: true };

/** Prometheus writes sample values as strings: "1.5", "NaN", "+Inf", "-Inf". */
export function parseSampleValue(text: string): number {
  switch (text) {
    case 'NaN':
      return Number.NaN;
    case '+Inf':
    case 'Inf':
      return Number.POSITIVE_INFINITY;
    case '-Inf':
      return Number.NEGATIVE_INFINITY;
    default: {
      const n = Number(text);
      if (text.trim() === '' || Number.isNaN(n)) throw new TypeError(`not a Prometheus sample value: ${JSON.stringify(text)}`);
      return n;
    }
  }
}

/**
 * The single value a query is expected to give (a baseline, a traffic floor): one series with a number.
 * Several series where one is expected is its own outcome, never "take the last".
 */
export type ScalarReading =
  | { kind: 'value'; value: number; labels: Labels }
  | { kind: 'no-data' }
  | { kind: 'several-series'; count: number }
  | { kind: 'error'; error: string };

export function readScalar(outcome: QueryOutcome): ScalarReading {
  switch (outcome.kind) {
    case 'error':
      return { kind: 'error', error: outcome.error };
    case 'empty':
      return { kind: 'no-data' };
    case 'series': {
      if (outcome.series.length > 1) return { kind: 'several-series', count: outcome.series.length };
      const only = outcome.series[0];
      if (!only || Number.isNaN(only.value)) return { kind: 'no-data' };
      return { kind: 'value', value: only.value, labels: only.labels };
    }
  }
}
