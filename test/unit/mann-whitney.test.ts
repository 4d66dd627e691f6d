// The U test and the shift interval against published values: scipy 1.17.1's mannwhitneyu(method='auto',
// two-sided), R's wilcox.test help examples and published R outputs, and R's normal-approximation interval
// (wilcox.test conf.int = TRUE, correct = TRUE) for tied samples.
import { describe, expect, it } from 'vitest';
import { mannWhitneyU, midRanks, normalCdf, normalQuantile, shiftInterval } from '../../src/core/mann-whitney.js';

const R_X = [0.8, 0.83, 1.89, 1.04, 1.45, 1.38, 1.91, 1.64, 0.73, 1.46];
const R_Y = [1.15, 0.88, 0.9, 0.74, 1.21];

describe('Mann-Whitney U, two-sided (scipy method=auto)', () => {
  const cases: { name: string; x: number[]; y: number[]; u: number; p: number; method: 'exact' | 'normal' }[] = [
    { name: 'three against three, fully apart (exact)', x: [1, 2, 3], y: [4, 5, 6], u: 0, p: 0.1, method: 'exact' },
    { name: 'five against five, fully apart (exact)', x: [1, 2, 3, 4, 5], y: [6, 7, 8, 9, 10], u: 0, p: 0.00793651, method: 'exact' },
    { name: 'ties: normal approximation with tie and continuity corrections', x: [1, 2, 2, 3, 3, 3], y: [3, 4, 4, 5, 5, 5], u: 1.5, p: 0.00836748, method: 'normal' },
    { name: "R's wilcox.test example (10 vs 5, exact): W = 35", x: R_X, y: R_Y, u: 35, p: 0.254412, method: 'exact' },
    { name: 'every value tied: nothing tells them apart, p = 1', x: [5, 5, 5], y: [5, 5, 5], u: 4.5, p: 1, method: 'normal' },
    { name: 'one against one: p = 1', x: [1], y: [2], u: 0, p: 1, method: 'exact' },
    { name: 'published R output: W = 51.5, p = 0.5966', x: [1, 5, 9, 24, 56, 21, 3, 7, 21, 4], y: [12, 15, 5, 9, 9, 14, 56, 22, 3, 7, 32, 5], u: 51.5, p: 0.596597, method: 'normal' },
    { name: 'published R output (x has ties): W = 0, p = 0.001364', x: [1, 5, 9, 24, 56, 21, 3, 7, 21, 4], y: [1233, 4356, 987, 39999, 1111, 200000], u: 0, p: 0.00136439, method: 'normal' },
  ];
  it.each(cases)('$name', ({ x, y, u, p, method }) => {
    const r = mannWhitneyU(x, y);
    expect(r.u).toBe(u);
    expect(r.method).toBe(method);
    expect(r.p).toBeCloseTo(p, 6);
  });

  it('is symmetric: U(x, y) + U(y, x) = nx * ny and the p-value is the same', () => {
    const a = mannWhitneyU(R_X, R_Y);
    const b = mannWhitneyU(R_Y, R_X);
    expect(a.u + b.u).toBe(50);
    expect(a.p).toBeCloseTo(b.p, 12);
  });

  it('mid-ranks ties and counts their groups', () => {
    expect(midRanks([3, 1, 3, 2, 3])).toEqual({ ranks: [4, 1, 4, 2, 4], ties: [3] });
  });
});

describe('shift estimate and confidence interval (R wilcox.test conf.int, normal approximation)', () => {
  // R's interval for tied samples at 98 % (each x with its first value repeated, so R takes the normal path).
  const cases: { name: string; x: number[]; y: number[]; estimate: number; low: number; high: number }[] = [
    { name: 'apart, with a tie', x: [1, 2, 3, 1], y: [4, 5, 6], estimate: -3, low: -5, high: -1 },
    { name: "R's example with a tie", x: [...R_X, 0.8], y: R_Y, estimate: 0.25, low: -0.35, high: 0.9 },
    { name: 'published data with a tie', x: [1, 5, 9, 24, 56, 21, 3, 7, 21, 4, 1], y: [12, 15, 5, 9, 9, 14, 56, 22, 3, 7, 32, 5], estimate: -2.5, low: -13, high: 12 },
  ];
  it.each(cases)('$name', ({ x, y, estimate, low, high }) => {
    const s = shiftInterval(x, y, 0.98)!;
    // R finds each bound with uniroot (tolerance 1e-4) on a step function; the bounds here are the steps exactly.
    expect(s.estimate).toBeCloseTo(estimate, 4);
    expect(s.low).toBeCloseTo(low, 3);
    expect(s.high).toBeCloseTo(high, 3);
  });

  it('at 95 % on the depression data (R: estimate 0.56, interval -0.37 to 1.183)', () => {
    const s = shiftInterval([1.83, 0.5, 1.62, 2.48, 1.68, 1.88, 1.55, 3.06, 1.3], [0.878, 0.647, 0.598, 2.05, 1.06, 1.29, 1.06, 3.14, 1.29], 0.95)!;
    expect(s.estimate).toBeCloseTo(0.56, 3);
    expect(s.low).toBeCloseTo(-0.37, 3);
    expect(s.high).toBeCloseTo(1.183, 3);
  });

  it('constant samples on each side: the interval is the one difference (no random noise, unlike Kayenta)', () => {
    expect(shiftInterval([0.4, 0.4, 0.4], [0.1, 0.1, 0.1, 0.1], 0.98)).toEqual({ estimate: 0.30000000000000004, low: 0.30000000000000004, high: 0.30000000000000004 });
  });
});

describe('normal distribution', () => {
  it.each([
    [0, 0.5],
    [-1.959963984540054, 0.025],
    [1, 0.8413447460685429],
    [-5, 2.866515718791939e-7],
    [-8, 6.22096057427178e-16],
  ])('cdf(%f) = %f', (x, p) => expect(normalCdf(x)).toBeCloseTo(p, 15));
  it.each([
    [0.01, -2.3263478740408408],
    [0.025, -1.959963984540054],
    [0.5, 0],
    [0.99, 2.3263478740408408],
  ])('quantile(%f) = %f', (p, x) => expect(normalQuantile(p)).toBeCloseTo(x, 9));
});
