import { describe, expect, it } from 'vitest';
import { cronExpression, instantsDue, tickInstant } from '../../src/daemon/schedule.js';

describe('cronExpression', () => {
  it.each([
    [1_000, '*/1 * * * * *'],
    [15_000, '*/15 * * * * *'],
    [30_000, '*/30 * * * * *'],
    [60_000, '0 */1 * * * *'],
    [300_000, '0 */5 * * * *'],
  ])('%i ms -> %s', (ms, expr) => expect(cronExpression(ms)).toBe(expr));

  it.each([7_000, 1_500, 90_000, 45 * 60_000])('%i ms cannot be scheduled on a wall-clock grid: a clear error', (ms) => {
    expect(() => cronExpression(ms)).toThrow(/cannot be scheduled: use a number of seconds that divides a minute/);
  });
});

describe('tickInstant: a tick evaluates at its grid instant, not at its timer jitter', () => {
  const t0 = Date.UTC(2026, 10, 25, 5, 0, 0);
  it.each([
    ['on time', t0, 1_000, t0],
    ['late by 12 ms', t0 + 12, 1_000, t0],
    ['early by 3 ms', t0 - 3, 1_000, t0],
    ['15 s grid, late by 40 ms', t0 + 15_040, 15_000, t0 + 15_000],
    ['15 s grid, late by 7.4 s (an overrun) rounds to the nearest instant', t0 + 7_400, 15_000, t0],
  ])('%s', (_, fired, interval, expected) => expect(tickInstant(fired, interval)).toBe(expected));

  it('a 2 s hold at 1 s ticks fires on the third tick whatever the jitter (pending at the first)', () => {
    // Jitter of the first tick larger than the third's: measured raw, 2 s would not yet have passed.
    const fired = [t0 + 1_015, t0 + 2_009, t0 + 3_002];
    const instants = fired.map((f) => tickInstant(f, 1_000));
    expect(instants[2]! - instants[0]!).toBe(2_000);
    expect(fired[2]! - fired[0]!).toBeLessThan(2_000);
  });
});

describe('instantsDue: every instant is judged, a late or skipped firing catches up', () => {
  const t0 = Date.parse('2026-11-20T14:00:00Z');
  it.each([
    ['the first firing: its own instant', undefined, t0 + 4, [0], 0],
    ['on time: the next instant', t0, t0 + 1_003, [1_000], 0],
    ['a firing skipped (busy loop, overrun): the one left out first', t0, t0 + 2_010, [1_000, 2_000], 0],
    ['a firing early, for an instant already judged: nothing', t0 + 2_000, t0 + 1_600, [], 0],
    ['far behind: the last 10, the rest let go', t0, t0 + 15_000, [6_000, 7_000, 8_000, 9_000, 10_000, 11_000, 12_000, 13_000, 14_000, 15_000], 5],
  ] as const)('%s', (_, last, fired, instants, dropped) => {
    expect(instantsDue(last, fired, 1_000)).toEqual({ instants: instants.map((i) => t0 + i), dropped });
  });
});
