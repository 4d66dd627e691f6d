import { describe, expect, it } from 'vitest';
import { changeSummary, judgeRelease, summarize, type KnownOutcome } from '../../src/core/backtest-verdict.js';

const T = Date.parse('2026-11-01T10:00:00Z');
const STEP = 15_000;
const at = (min: number) => T + min * 60_000;
const rollback = (min: number) => ({ at: at(min), action: 'rollback', rule: 'error-rate-critical' });
const page = (min: number) => ({ at: at(min), action: 'page', rule: 'error-rate-sustained' });

describe('backtest verdicts', () => {
  it.each<[string, KnownOutcome, ReturnType<typeof rollback>[] | undefined, object]>([
    ['kept, nothing decided', { kind: 'kept' }, [], { verdict: 'agrees' }],
    ['kept, a page only', { kind: 'kept' }, [page(20)], { verdict: 'agrees' }],
    ['kept, reverted by these rules: a false revert', { kind: 'kept' }, [rollback(5)], { verdict: 'would-revert', detectSeconds: 300 }],
    ['reverted, never reverted by these rules', { kind: 'reverted', at: at(10) }, [page(12)], { verdict: 'would-miss' }],
    ['reverted at 10m, these rules at 10m15s: within one evaluation', { kind: 'reverted', at: at(10) }, [rollback(10.25)], { verdict: 'agrees', detectSeconds: 615 }],
    ['reverted at 10m, these rules at 6m', { kind: 'reverted', at: at(10) }, [page(1), rollback(6)], { verdict: 'earlier', deltaSeconds: 240, detectSeconds: 360 }],
    ['reverted at 10m, these rules at 12m', { kind: 'reverted', at: at(10), by: 'person' }, [rollback(12)], { verdict: 'later', deltaSeconds: 120, detectSeconds: 720 }],
    ['reverted, time unknown', { kind: 'reverted' }, [rollback(3)], { verdict: 'agrees', detectSeconds: 180 }],
    ['unknown outcome', { kind: 'unknown' }, [rollback(3)], { verdict: 'unknown', detectSeconds: 180 }],
    ['could not be replayed', { kind: 'kept' }, undefined, { verdict: 'no-data' }],
  ])('%s', (_name, known, decisions, expected) => {
    expect(judgeRelease(T, known, decisions, STEP)).toEqual(expected);
  });

  it('summarizes: counts per verdict and the median detection time over the releases reverted', () => {
    const rows = [judgeRelease(T, { kind: 'kept' }, [], STEP), judgeRelease(T, { kind: 'kept' }, [rollback(5)], STEP), judgeRelease(T, { kind: 'reverted', at: at(10) }, [rollback(6)], STEP), judgeRelease(T, { kind: 'reverted' }, [], STEP), judgeRelease(T, { kind: 'kept' }, undefined, STEP)];
    expect(summarize(rows)).toEqual({ releases: 5, agreements: 1, falseReverts: 1, misses: 1, earlier: 1, later: 0, unknown: 0, noData: 1, medianDetectSeconds: 330 });
    expect(summarize([]).medianDetectSeconds).toBeNull();
  });

  it('says what a change does: false reverts added, misses caught, reverts sooner', () => {
    const fmt = (s: number) => `${s / 60}m`;
    const before = [judgeRelease(T, { kind: 'kept' }, [], STEP), judgeRelease(T, { kind: 'reverted', at: at(10) }, [], STEP), judgeRelease(T, { kind: 'reverted', at: at(10) }, [rollback(10)], STEP)];
    const after = [judgeRelease(T, { kind: 'kept' }, [rollback(2)], STEP), judgeRelease(T, { kind: 'reverted', at: at(10) }, [rollback(8)], STEP), judgeRelease(T, { kind: 'reverted', at: at(10) }, [rollback(6)], STEP)];
    expect(changeSummary(before, after, fmt)).toBe('this change adds 1 false revert, catches 1 release the current rules miss, reverts 1 release sooner (median 4m)');
    expect(changeSummary(before, before, fmt)).toBe('this change decides every release as the current rules do');
  });
});
