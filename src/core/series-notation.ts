// Prometheus's expanding notation for test series (`promtool test rules`' input_series values), so rule tests can be
// written as promtool users write theirs:
//   'a+bxn'  a, a+b, ..., a+n*b (n+1 values)     'a-bxn'  decreasing      'axn'  a, n+1 times
//   '_'      a missing sample                      '_xn'    n missing samples
//   'stale'  a staleness marker: the series ends there, at once (not after the 5-minute lookback)
// Values are separated by spaces. Pure.

/** One sample: a number, null for a missing one, or a staleness marker. */
export type TestSample = number | null | 'stale';

/** The samples, one per interval from time 0. */
export function expandValues(text: string): TestSample[] {
  const out: TestSample[] = [];
  for (const token of text.trim().split(/\s+/).filter(Boolean)) {
    if (token === 'stale') {
      out.push('stale');
      continue;
    }
    const missing = /^_(?:x(\d+))?$/.exec(token);
    if (missing) {
      out.push(...Array<null>(missing[1] === undefined ? 1 : Number(missing[1])).fill(null));
      continue;
    }
    const m = /^([-+]?(?:\d+(?:\.\d*)?|\.\d+)(?:e[-+]?\d+)?|[-+]?Inf|NaN)(?:([-+])((?:\d+(?:\.\d*)?|\.\d+)(?:e[-+]?\d+)?))?(?:x(\d+))?$/i.exec(token);
    if (!m || (m[2] !== undefined && m[4] === undefined)) throw new Error(`${JSON.stringify(token)} is not a value: write a number, 'a+bxn', 'a-bxn', 'axn', '_', '_xn' or 'stale'`);
    const start = parseNumber(m[1]!);
    const step = m[2] === undefined ? 0 : (m[2] === '-' ? -1 : 1) * Number(m[3]);
    const n = m[4] === undefined ? 0 : Number(m[4]);
    for (let i = 0; i <= n; i++) out.push(start + i * step);
  }
  return out;
}

function parseNumber(text: string): number {
  const t = text.toLowerCase();
  if (t === 'nan') return Number.NaN;
  if (t === 'inf' || t === '+inf') return Number.POSITIVE_INFINITY;
  if (t === '-inf') return Number.NEGATIVE_INFINITY;
  return Number(text);
}
