// A metric source over a recording: the range-query results of every rule's queries, saved as JSON.
// Format (version 1): {"version": 1, "step": <seconds>, "queries": {"<query exactly as in the rules>":
//   {"resultType": "matrix", "result": [{"metric": {...}, "values": [[<unix seconds>, "<value>"], ...]}]}}}
import fs from 'node:fs';
import { parseSampleValue, type Labels, type QueryOutcome, type RangeOutcome, type SeriesSample } from '../../core/query-outcome.js';
import { toRfc3339 } from '../../core/time-format.js';
import { RecordingInvalidError } from '../../errors/recording-invalid-error.js';
import type { MetricSource } from '../../ports/metric-source.js';

interface IndexedSeries {
  labels: Labels;
  times: Float64Array; // Unix ms, ascending
  values: Float64Array;
}

export interface RecordingFile {
  version: 1;
  step: number;
  /** The span that was read (Unix seconds), which an empty stretch at either end belongs to; `record` writes it. */
  range?: { start: number; end: number };
  /**
   * The Deployment the queries were bound for (`record` writes it): `replay --recording` evaluates per-target rules
   * for it, with its pod selector (and a canary's stable Deployment), unless `--target` says otherwise.
   */
  target?: RecordedTarget;
  queries: Record<string, { resultType: 'matrix'; result: { metric: Record<string, string>; values: [number, string][] }[] }>;
}

export interface RecordedTarget {
  namespace: string;
  deployment: string;
  selector?: Record<string, string>;
  stable?: { namespace: string; deployment: string; selector?: Record<string, string> };
}

export class RecordingSource implements MetricSource {
  readonly stepMs: number;
  /** First and last sample time over every query (Unix ms); undefined when the recording holds no samples. */
  readonly start: number | undefined;
  readonly end: number | undefined;
  /**
   * The span the data speaks for: the range that was read from Prometheus, or a file's first to last sample.
   * Outside it nothing is known; inside it, a missing sample is a real absence.
   */
  readonly covers: { start: number; end: number } | undefined;
  private readonly series: Map<string, IndexedSeries[]>;
  /** The Deployment the queries were bound for, when the recording says. */
  readonly target: RecordedTarget | undefined;

  private constructor(stepMs: number, series: Map<string, IndexedSeries[]>, covers?: { start: number; end: number }, target?: RecordedTarget) {
    this.stepMs = stepMs;
    this.series = series;
    this.target = target;
    let start = Infinity;
    let end = -Infinity;
    for (const list of series.values()) {
      for (const s of list) {
        if (s.times.length === 0) continue;
        start = Math.min(start, s.times[0]!);
        end = Math.max(end, s.times[s.times.length - 1]!);
      }
    }
    this.start = Number.isFinite(start) ? start : undefined;
    this.end = Number.isFinite(end) ? end : undefined;
    this.covers = covers ?? (this.start !== undefined && this.end !== undefined ? { start: this.start, end: this.end } : undefined);
  }

  static fromFile(file: string): RecordingSource {
    let text: string;
    try {
      text = fs.readFileSync(file, 'utf8');
    } catch (err) {
      const code = (err as { code?: string }).code;
      throw new RecordingInvalidError(code === 'ENOENT' ? `recording ${file} does not exist` : `cannot read recording ${file}: ${(err as Error).message}`, { cause: err });
    }
    let data: unknown;
    try {
      data = JSON.parse(text);
    } catch (err) {
      throw new RecordingInvalidError(`recording ${file} is not valid JSON: ${(err as Error).message}`, { cause: err });
    }
    return RecordingSource.fromData(data, file);
  }

  /** Validates a parsed recording; every message names the file and the JSON path of the fault. */
  static fromData(data: unknown, file = 'recording', covers?: { start: number; end: number }): RecordingSource {
    const fail = (where: string, what: string): never => {
      throw new RecordingInvalidError(`recording ${file}: ${where}: ${what} (see "Recording format" in the README)`);
    };
    if (!isObject(data)) return fail('top level', 'expected a JSON object');
    if (data.version !== 1) fail('version', `expected 1, found ${JSON.stringify(data.version)}`);
    const step = data.step;
    if (typeof step !== 'number' || !(step > 0)) return fail('step', `expected a positive number of seconds, found ${JSON.stringify(step)}`);
    if (data.range !== undefined) {
      const r = data.range;
      if (!isObject(r) || typeof r.start !== 'number' || typeof r.end !== 'number' || !(r.start <= r.end)) return fail('range', `expected {"start": seconds, "end": seconds} with start <= end, found ${JSON.stringify(r)}`);
      covers ??= { start: Math.round(r.start * 1000), end: Math.round(r.end * 1000) };
    }
    if (!isObject(data.queries)) return fail('queries', 'expected an object keyed by query string');
    const target = data.target === undefined ? undefined : recordedTarget(data.target, (what) => fail('target', what));

    const series = new Map<string, IndexedSeries[]>();
    for (const [query, body] of Object.entries(data.queries)) {
      const at = `queries[${JSON.stringify(query.length > 60 ? query.slice(0, 57) + '...' : query)}]`;
      if (!isObject(body)) return fail(at, 'expected a query_range data object');
      if (body.resultType !== 'matrix') fail(`${at}.resultType`, `expected "matrix", found ${JSON.stringify(body.resultType)}`);
      if (!Array.isArray(body.result)) return fail(`${at}.result`, 'expected a list of series');
      const list: IndexedSeries[] = [];
      body.result.forEach((s: unknown, i: number) => {
        const here = `${at}.result[${i}]`;
        if (!isObject(s) || !isObject(s.metric) || !Array.isArray(s.values)) return fail(here, 'expected {"metric": {...}, "values": [...]}');
        const values = s.values as unknown[];
        const times = new Float64Array(values.length);
        const nums = new Float64Array(values.length);
        for (let j = 0; j < values.length; j++) {
          const pair = values[j];
          if (!Array.isArray(pair) || typeof pair[0] !== 'number' || typeof pair[1] !== 'string') {
            return fail(`${here}.values[${j}]`, `expected [<unix seconds>, "<value>"], found ${JSON.stringify(pair)}`);
          }
          let v: number;
          try {
            v = parseSampleValue(pair[1]);
          } catch {
            return fail(`${here}.values[${j}]`, `${JSON.stringify(pair[1])} is not a sample value (a number, "NaN", "+Inf" or "-Inf")`);
          }
          times[j] = Math.round(pair[0] * 1000);
          nums[j] = v;
          if (j > 0 && times[j]! <= times[j - 1]!) fail(`${here}.values[${j}]`, 'timestamps must increase');
        }
        list.push({ labels: s.metric as Labels, times, values: nums });
      });
      series.set(query, list);
    }
    return new RecordingSource(step * 1000, series, covers, target);
  }

  /** Recorded queries, for "is everything the rules need in here?" checks. */
  has(query: string): boolean {
    return this.series.has(query);
  }

  instant(query: string, at: number): Promise<QueryOutcome> {
    return Promise.resolve(this.instantSync(query, at));
  }

  range(query: string, start: number, end: number, stepMs: number): Promise<RangeOutcome> {
    return Promise.resolve(rangeFromInstants((t) => this.instantSync(query, t), start, end, stepMs));
  }

  /**
   * A query's value at `at` is each series' sample at `at`, or its latest within the preceding step. A series
   * with nothing in that span has stopped: its last value does not hold (that would hide an outage).
   */
  instantSync(query: string, at: number): QueryOutcome {
    const list = this.series.get(query);
    // Refused, as Prometheus refuses a query it cannot run: a query sent once for several targets is then asked per
    // target (guard/query-batch.ts), which a recording of each target's own queries can answer.
    if (!list) return { kind: 'error', error: 'query is not in the recording (record again with the current rules)', refused: true };
    // Before the first sample or after the last, nothing was recorded: unknown, not an empty answer (which a
    // `noData: breach` outage rule would take for an outage).
    const c = this.covers;
    if (c && (at < c.start || at > c.end)) {
      return { kind: 'error', error: `not recorded: ${toRfc3339(at)} is outside the data (${toRfc3339(c.start)} to ${toRfc3339(c.end)})` };
    }
    const found: SeriesSample[] = [];
    for (const s of list) {
      const i = lastAtOrBefore(s.times, at);
      if (i >= 0 && s.times[i]! > at - this.stepMs) found.push({ labels: s.labels, value: s.values[i]! });
    }
    return found.length ? { kind: 'series', series: found } : { kind: 'empty' };
  }
}

/**
 * Samples at start, start + step, ..., end: each the instant answer at that time, as Prometheus evaluates a range
 * query, grouped by series. Unknown at any of them (outside the data, not recorded) is unknown for the window.
 */
export function rangeFromInstants(instant: (at: number) => QueryOutcome, start: number, end: number, stepMs: number): RangeOutcome {
  const bySeries = new Map<string, { labels: Labels; values: number[] }>();
  const warnings: string[] = [];
  for (let t = start; t <= end; t += stepMs) {
    const o = instant(t);
    if (o.kind === 'error') return o;
    if (o.warnings) warnings.push(...o.warnings);
    if (o.kind !== 'series') continue;
    for (const s of o.series) {
      const key = JSON.stringify(Object.entries(s.labels).sort(([a], [b]) => (a < b ? -1 : 1)));
      let e = bySeries.get(key);
      if (!e) bySeries.set(key, (e = { labels: s.labels, values: [] }));
      e.values.push(s.value);
    }
  }
  const w = warnings.length ? { warnings: [...new Set(warnings)] } : {};
  return bySeries.size ? { kind: 'range', series: [...bySeries.values()], ...w } : { kind: 'empty', ...w };
}

function lastAtOrBefore(times: Float64Array, at: number): number {
  let lo = 0;
  let hi = times.length - 1;
  let ans = -1;
  while (lo <= hi) {
    const mid = (lo + hi) >>> 1;
    if (times[mid]! <= at) {
      ans = mid;
      lo = mid + 1;
    } else hi = mid - 1;
  }
  return ans;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

const isLabels = (v: unknown): v is Record<string, string> => isObject(v) && Object.values(v).every((x) => typeof x === 'string');

/** `target`: {"namespace", "deployment", "selector"?: {label: value}, "stable"?: the same without stable}. */
function recordedTarget(v: unknown, fail: (what: string) => never): RecordedTarget {
  const ref = (o: unknown, what: string): { namespace: string; deployment: string; selector?: Record<string, string> } => {
    if (!isObject(o) || typeof o.namespace !== 'string' || typeof o.deployment !== 'string') return fail(`${what}expected {"namespace": string, "deployment": string}, found ${JSON.stringify(o)}`);
    if (o.selector !== undefined && !isLabels(o.selector)) return fail(`${what}selector: expected {"label": "value", ...}`);
    return { namespace: o.namespace, deployment: o.deployment, ...(o.selector ? { selector: o.selector } : {}) };
  };
  const t = ref(v, '');
  const stable = isObject(v) && v.stable !== undefined ? ref(v.stable, 'stable: ') : undefined;
  return { ...t, ...(stable ? { stable } : {}) };
}
