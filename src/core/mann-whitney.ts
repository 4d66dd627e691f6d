// The Mann-Whitney U test and the Hodges-Lehmann shift with its confidence interval, for the canary judge. Pure.
// p-values follow scipy.stats.mannwhitneyu(method='auto', two-sided): exact when there are no ties and one sample
// has at most 8 values, else the normal approximation with the tie and continuity corrections. The interval is
// R's wilcox.test(conf.int = TRUE) normal-approximation interval, the one Kayenta's judge ports. No npm package
// does either correctly (checked: statistics.js ignores ties, mann-whitney-utest gives U only, simple-statistics
// the rank sum only), so it is written here and tested against scipy's and R's published values.

/** Standard normal CDF (Marsaglia 2004, "Evaluating the Normal Distribution"): absolute error below 1e-15. */
export function normalCdf(x: number): number {
  if (x < -38) return 0;
  if (x > 38) return 1;
  if (Math.abs(x) > 7) {
    // The series needs many terms out here; the tail from its asymptotic expansion is exact to double precision.
    const tail = (Math.exp(-0.5 * x * x) / (Math.abs(x) * Math.sqrt(2 * Math.PI))) * (1 - 1 / (x * x) + 3 / x ** 4 - 15 / x ** 6);
    return x < 0 ? tail : 1 - tail;
  }
  let s = x;
  let t = 0;
  let b = x;
  const q = x * x;
  let i = 1;
  while (s !== t) s = (t = s) + (b *= q / (i += 2));
  return 0.5 + s * Math.exp(-0.5 * q - 0.9189385332046727);
}

/** Standard normal quantile: Acklam's approximation (relative error 1.2e-9) and one Halley step on normalCdf. */
export function normalQuantile(p: number): number {
  if (!(p > 0 && p < 1)) return p === 0 ? -Infinity : p === 1 ? Infinity : Number.NaN;
  const a = [-39.69683028665376, 220.9460984245205, -275.9285104469687, 138.357751867269, -30.66479806614716, 2.506628277459239];
  const b = [-54.47609879822406, 161.5858368580409, -155.6989798598866, 66.80131188771972, -13.28068155288572];
  const c = [-0.007784894002430293, -0.3223964580411365, -2.400758277161838, -2.549732539343734, 4.374664141464968, 2.938163982698783];
  const d = [0.007784695709041462, 0.3224671290700398, 2.445134137142996, 3.754408661907416];
  const low = 0.02425;
  let x: number;
  if (p < low || p > 1 - low) {
    const q = Math.sqrt(-2 * Math.log(p < low ? p : 1 - p));
    x = (((((c[0]! * q + c[1]!) * q + c[2]!) * q + c[3]!) * q + c[4]!) * q + c[5]!) / ((((d[0]! * q + d[1]!) * q + d[2]!) * q + d[3]!) * q + 1);
    if (p > 1 - low) x = -x;
  } else {
    const q = p - 0.5;
    const r = q * q;
    x = ((((((a[0]! * r + a[1]!) * r + a[2]!) * r + a[3]!) * r + a[4]!) * r + a[5]!) * q) / (((((b[0]! * r + b[1]!) * r + b[2]!) * r + b[3]!) * r + b[4]!) * r + 1);
  }
  const e = normalCdf(x) - p;
  const u = e * Math.sqrt(2 * Math.PI) * Math.exp((x * x) / 2);
  return x - u / (1 + (x * u) / 2);
}

/** Mid-ranks (1-based) of `values`, and the sizes of their groups of ties (only groups of 2 or more). */
export function midRanks(values: readonly number[]): { ranks: number[]; ties: number[] } {
  const order = values.map((v, i) => [v, i] as const).sort((p, q) => p[0] - q[0]);
  const ranks = new Array<number>(values.length);
  const ties: number[] = [];
  for (let i = 0; i < order.length; ) {
    let j = i;
    while (j + 1 < order.length && order[j + 1]![0] === order[i]![0]) j++;
    const rank = (i + j) / 2 + 1;
    for (let k = i; k <= j; k++) ranks[order[k]![1]] = rank;
    if (j > i) ties.push(j - i + 1);
    i = j + 1;
  }
  return { ranks, ties };
}

export interface UTest {
  /** U of the first sample: the number of pairs (x, y) with x > y, ties counting one half. */
  u: number;
  /** Two-sided p-value. */
  p: number;
  method: 'exact' | 'normal';
}

/** Two-sided Mann-Whitney U test of x against y, as scipy's mannwhitneyu(method='auto'). Both must be non-empty. */
export function mannWhitneyU(x: readonly number[], y: readonly number[]): UTest {
  const nx = x.length;
  const ny = y.length;
  const { ranks, ties } = midRanks([...x, ...y]);
  let r1 = 0;
  for (let i = 0; i < nx; i++) r1 += ranks[i]!;
  const u = r1 - (nx * (nx + 1)) / 2;
  if (ties.length === 0 && Math.min(nx, ny) <= 8) return { u, p: exactP(u, nx, ny), method: 'exact' };
  const n = nx + ny;
  const tieSum = ties.reduce((s, t) => s + (t * t * t - t), 0);
  const sigma = Math.sqrt(((nx * ny) / 12) * (n + 1 - tieSum / (n * (n - 1))));
  // Every value tied: nothing tells the samples apart (scipy: p = 1).
  if (!(sigma > 0)) return { u, p: 1, method: 'normal' };
  const z = (Math.max(u, nx * ny - u) - (nx * ny) / 2 - 0.5) / sigma;
  return { u, p: Math.min(1, 2 * (1 - normalCdf(z))), method: 'normal' };
}

/**
 * Exact two-sided p of U = u with no ties: the counts of U over all arrangements are the coefficients of the
 * Gaussian binomial [m+n choose m]_q = prod_{i=1..m} (1 - q^(n+i)) / (1 - q^i), with m the smaller size.
 */
function exactP(u: number, nx: number, ny: number): number {
  const m = Math.min(nx, ny);
  const n = Math.max(nx, ny);
  const deg = m * n;
  const c = new Float64Array(deg + 1);
  c[0] = 1;
  for (let i = 1; i <= m; i++) {
    for (let k = deg; k >= n + i; k--) c[k]! -= c[k - n - i]!; // x (1 - q^(n+i))
    for (let k = i; k <= deg; k++) c[k]! += c[k - i]!; // / (1 - q^i)
  }
  let total = 0;
  for (const v of c) total += v;
  let below = 0;
  for (let k = 0; k <= Math.floor(u); k++) below += c[k]!;
  let above = 0;
  for (let k = Math.ceil(u); k <= deg; k++) above += c[k]!;
  return Math.min(1, (2 * Math.min(below, above)) / total);
}

export interface ShiftEstimate {
  /** Hodges-Lehmann estimate of the shift x - y. */
  estimate: number;
  low: number;
  high: number;
}

/**
 * The shift of x over y and its two-sided confidence interval (R's wilcox.test conf.int, normal approximation
 * with the tie and continuity corrections, as Kayenta's MannWhitney.scala ports it). R finds each bound with a
 * root finder on a step function whose steps sit at the pairwise differences x_i - y_j; this finds the same
 * step exactly, by bisection over the sorted differences. Undefined when every value is tied.
 * Kayenta does not run the exact interval for small samples either: its judge always uses this one.
 */
export function shiftInterval(x: readonly number[], y: readonly number[], confidence: number): ShiftEstimate | undefined {
  const diffs: number[] = [];
  for (const a of x) for (const b of y) diffs.push(a - b);
  diffs.sort((p, q) => p - q);
  const distinct = diffs.filter((d, i) => i === 0 || d !== diffs[i - 1]);
  const z = normalQuantile((1 - confidence) / 2); // negative
  const f = (mu: number, zq: number): number | undefined => {
    const nx = x.length;
    const ny = y.length;
    const n = nx + ny;
    const { ranks, ties } = midRanks([...x.map((v) => v - mu), ...y]);
    let r1 = 0;
    for (let i = 0; i < nx; i++) r1 += ranks[i]!;
    const dz = r1 - (nx * (nx + 1)) / 2 - (nx * ny) / 2;
    const tieSum = ties.reduce((s, t) => s + (t * t * t - t), 0);
    const sigma = Math.sqrt(((nx * ny) / 12) * (n + 1 - tieSum / (n * (n - 1))));
    if (!(sigma > 0)) return undefined;
    return (dz - Math.sign(dz) * 0.5) / sigma - zq;
  };
  // f falls as mu rises; the root is where it first reaches <= 0 (between two differences it is constant).
  const root = (zq: number): number | undefined => {
    const at = (k: number) => (k + 1 < distinct.length ? f((distinct[k]! + distinct[k + 1]!) / 2, zq) : f(distinct[k]! + 1, zq));
    const first = f(distinct[0]! - 1, zq);
    if (first === undefined) return undefined;
    if (first <= 0) return distinct[0];
    let lo = 0;
    let hi = distinct.length - 1;
    const last = at(hi);
    if (last === undefined) return undefined;
    if (last > 0) return distinct[hi];
    // Invariant: f > 0 just below distinct[lo], f <= 0 just above distinct[hi].
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      const v = at(mid);
      if (v === undefined) return undefined;
      if (v <= 0) hi = mid;
      else lo = mid + 1;
    }
    return distinct[lo];
  };
  if (distinct.length === 0) return undefined;
  const low = root(-z);
  const high = root(z);
  if (low === undefined || high === undefined) return undefined;
  // The Hodges-Lehmann estimate proper: the median of the pairwise differences (R's root at zq = 0 lands on it, to
  // its root finder's 1e-4).
  const mid = diffs.length >>> 1;
  const estimate = diffs.length % 2 ? diffs[mid]! : (diffs[mid - 1]! + diffs[mid]!) / 2;
  return { estimate, low, high };
}
