// Which evaluation intervals the daemon can keep on the wall-clock grid (15s -> :00, :15, :30, :45): a number of
// seconds that divides a minute, or of minutes that divides an hour. Pure; `check` and the daemon's schedule share
// it, so `check` refuses what `run` would. Other commands (replay, record) take any interval: they use a step.
import type { RulesProblem } from '../errors/rules-invalid-error.js';
import { formatDuration } from './duration.js';
import type { Ruleset } from './ruleset.js';

/**
 * The instants a release is judged at, by the daemon, replay and backtest alike: every multiple of the interval
 * (Unix time, so 15s -> :00, :15, :30, :45), from the first at or after the release start. A release seen at
 * 14:00:07 is judged at 14:00:15, 14:00:30, ... however it is replayed.
 */
export function firstInstant(startedAt: number, intervalMs: number): number {
  return Math.ceil(startedAt / intervalMs) * intervalMs;
}

/** The last instant of the grid at or before `t`: where data read for the instants from `t` on must begin. */
export function gridStart(t: number, intervalMs: number): number {
  return Math.floor(t / intervalMs) * intervalMs;
}

/** The interval as whole seconds (below a minute) or whole minutes, or undefined when it is off the grid. */
export function gridStep(intervalMs: number): { unit: 'second' | 'minute'; count: number } | undefined {
  const s = intervalMs / 1000;
  if (Number.isInteger(s) && s >= 1 && s < 60 && 60 % s === 0) return { unit: 'second', count: s };
  const m = s / 60;
  if (Number.isInteger(m) && m >= 1 && m < 60 && 60 % m === 0) return { unit: 'minute', count: m };
  return undefined;
}

export const GRID_ADVICE = 'use a number of seconds that divides a minute (1s, 2s, 5s, 10s, 15s, 30s) or of minutes that divides an hour (1m, 5m, 15m)';

/** The rules file's own `interval:` as a problem at its line, when the daemon could not schedule it. */
export function intervalProblem(rs: Ruleset): RulesProblem | undefined {
  if (gridStep(rs.intervalMs)) return undefined;
  const at = rs.intervalAt ?? { line: 1, column: 1 };
  return { file: rs.file, ...at, message: `\`interval\` ${formatDuration(rs.intervalMs)} cannot be scheduled on the clock grid by \`run\`: ${GRID_ADVICE}` };
}
