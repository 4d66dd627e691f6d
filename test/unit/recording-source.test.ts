import { describe, expect, it } from 'vitest';
import { RecordingSource } from '../../src/adapters/recording/recording-source.js';
import { RecordingInvalidError } from '../../src/errors/recording-invalid-error.js';

const rec = (values: [number, string][], step = 15, more: object[] = []) =>
  RecordingSource.fromData({ version: 1, step, queries: { q: { resultType: 'matrix', result: [{ metric: { pod: 'a' }, values }, ...more] } } });

describe('recording source: a query value at an instant', () => {
  const src = rec([
    [1000, '0.5'],
    [1015, 'NaN'],
    [1030, '+Inf'],
    [1045, '-Inf'],
    [1100, '2'],
  ]);
  it.each([
    ['exact sample', 1000_000, 0.5],
    ['latest within the preceding step', 1010_000, 0.5],
    ['NaN parsed', 1015_000, Number.NaN],
    ['+Inf parsed', 1030_000, Number.POSITIVE_INFINITY],
    ['-Inf parsed', 1045_000, Number.NEGATIVE_INFINITY],
  ])('%s', (_n, at, want) => {
    const out = src.instantSync('q', at);
    expect(out.kind).toBe('series');
    expect(out.kind === 'series' && out.series[0]!.value).toBe(want);
    expect(out.kind === 'series' && out.series[0]!.labels).toEqual({ pod: 'a' });
  });
  it('a series that stopped is gone (its last value does not hold)', () => {
    expect(src.instantSync('q', 1060_000)).toEqual({ kind: 'empty' });
    expect(src.instantSync('q', 1045_000 + 15_000)).toEqual({ kind: 'empty' }); // exactly one step later: outside
  });
  it('outside the recording (before its first sample, after its last): unknown, never an empty answer', () => {
    expect(src.instantSync('q', 999_000)).toEqual({ kind: 'error', error: 'not recorded: 1970-01-01T00:16:39Z is outside the data (1970-01-01T00:16:40Z to 1970-01-01T00:18:20Z)' });
    expect(src.instantSync('q', 1101_000)).toMatchObject({ kind: 'error' });
  });
  it("a recording's `range` (record writes it) is the span it speaks for, not its first and last sample", () => {
    const withRange = RecordingSource.fromData({ version: 1, step: 15, range: { start: 900, end: 1200 }, queries: { q: { resultType: 'matrix', result: [{ metric: {}, values: [[1000, '1']] }] } } });
    expect(withRange.covers).toEqual({ start: 900_000, end: 1200_000 });
    expect(withRange.instantSync('q', 950_000)).toEqual({ kind: 'empty' }); // recorded, and empty: a real absence
    expect(() => RecordingSource.fromData({ version: 1, step: 15, range: { start: 2, end: 1 }, queries: {} }, 'r.json')).toThrow(/recording r\.json: range: expected \{"start": seconds, "end": seconds\} with start <= end/);
  });
  it('a range read from Prometheus speaks for all of it: before its first sample is a real absence', () => {
    const fromPrometheus = RecordingSource.fromData({ version: 1, step: 15, queries: { q: { resultType: 'matrix', result: [{ metric: {}, values: [[1000, '1']] }] } } }, 'prom', { start: 900_000, end: 1200_000 });
    expect(fromPrometheus.instantSync('q', 950_000)).toEqual({ kind: 'empty' });
    expect(fromPrometheus.instantSync('q', 899_000)).toMatchObject({ kind: 'error' });
  });
  it('a query that is not recorded is an error, never healthy', () => {
    expect(src.instantSync('other', 1000_000)).toMatchObject({ kind: 'error' });
  });
  it('several series are all returned', () => {
    const s = rec([[1000, '1']], 15, [{ metric: { pod: 'b' }, values: [[1000, '2']] }]);
    const out = s.instantSync('q', 1000_000);
    expect(out.kind === 'series' && out.series.map((x) => x.value)).toEqual([1, 2]);
  });
  it('knows its span', () => {
    expect([src.start, src.end]).toEqual([1000_000, 1100_000]);
  });
});

describe('recording source: malformed recordings say where', () => {
  it.each([
    ['not an object', [], /top level: expected a JSON object/],
    ['wrong version', { version: 2, step: 15, queries: {} }, /version: expected 1, found 2/],
    ['bad step', { version: 1, step: 0, queries: {} }, /step: expected a positive number/],
    ['not a matrix', { version: 1, step: 15, queries: { q: { resultType: 'vector', result: [] } } }, /queries\["q"\]\.resultType: expected "matrix"/],
    ['bad sample', { version: 1, step: 15, queries: { q: { resultType: 'matrix', result: [{ metric: {}, values: [[1, 2]] }] } } }, /queries\["q"\]\.result\[0\]\.values\[0\]: expected \[<unix seconds>, "<value>"\]/],
    ['bad value', { version: 1, step: 15, queries: { q: { resultType: 'matrix', result: [{ metric: {}, values: [[1, 'lots']] }] } } }, /"lots" is not a sample value/],
    ['unordered', { version: 1, step: 15, queries: { q: { resultType: 'matrix', result: [{ metric: {}, values: [[2, '1'], [1, '1']] }] } } }, /timestamps must increase/],
  ])('%s', (_n, data, message) => {
    expect(() => RecordingSource.fromData(data, 'r.json')).toThrowError(RecordingInvalidError);
    expect(() => RecordingSource.fromData(data, 'r.json')).toThrowError(message);
  });
  it('a missing file', () => {
    expect(() => RecordingSource.fromFile('/nonexistent/r.json')).toThrowError(/recording \/nonexistent\/r.json does not exist/);
  });
});

describe('RecordingSource: the Deployment the queries were bound for', () => {
  const base = { version: 1, step: 15, queries: {} };
  it('reads `target` (with its selector and a canary stable), and refuses a malformed one naming the path', () => {
    const target = { namespace: 'p', deployment: 'c', selector: { app: 'c' }, stable: { namespace: 'p', deployment: 's' } };
    expect(RecordingSource.fromData({ ...base, target }, 'r.json').target).toEqual(target);
    expect(RecordingSource.fromData(base, 'r.json').target).toBeUndefined();
    expect(() => RecordingSource.fromData({ ...base, target: { namespace: 'p' } }, 'r.json')).toThrow(/recording r\.json: target: expected \{"namespace": string, "deployment": string\}/);
    expect(() => RecordingSource.fromData({ ...base, target: { namespace: 'p', deployment: 'c', selector: { app: 1 } } }, 'r.json')).toThrow(/target: selector: expected \{"label": "value", \.\.\.\}/);
  });

  it('a query not in the recording is refused (so one sent for several targets is asked per target)', async () => {
    expect(await RecordingSource.fromData(base, 'r.json').instant('up', 0)).toMatchObject({ kind: 'error', refused: true });
  });
});
