// The tick schedule with node-cron: an interval becomes a cron expression with a seconds field, so ticks land
// on wall-clock multiples of the interval (15s -> :00, :15, :30, :45), the same grid replay uses.
import cron, { type ScheduledTask } from 'node-cron';
import { formatDuration } from '../core/duration.js';
import { GRID_ADVICE, gridStep } from '../core/interval-grid.js';
import { UsageError } from '../errors/usage-error.js';

export function cronExpression(intervalMs: number): string {
  const step = gridStep(intervalMs);
  if (step?.unit === 'second') return `*/${step.count} * * * * *`;
  if (step?.unit === 'minute') return `0 */${step.count} * * * *`;
  throw new UsageError(`evaluation interval ${formatDuration(intervalMs)} cannot be scheduled: ${GRID_ADVICE}`);
}

export function schedule(intervalMs: number, run: () => Promise<void>): ScheduledTask {
  return cron.schedule(cronExpression(intervalMs), run, { name: 'rollback-guard-tick', noOverlap: false });
}

/**
 * The instant a scheduled tick evaluates: its place on the interval grid, not the timer's jittered firing time.
 * `for` holds are measured between tick instants; with jitter, a hold of exactly N intervals (pending at
 * :01.012, due at :03.004) would wait one interval more about half of the time. Prometheus's rule evaluation
 * uses its aligned evaluation timestamps for the same reason, and replay uses this grid.
 */
export function tickInstant(firedAt: number, intervalMs: number): number {
  return Math.round(firedAt / intervalMs) * intervalMs;
}

/** At most this many instants a late or skipped timer catches up on; older ones are let go (and logged). */
export const MAX_CATCH_UP = 10;

/**
 * The instants a timer firing at `firedAt` evaluates: its own, and every instant since `lastTicked` that a late
 * or skipped firing (a busy event loop, an overrun tick) left out, oldest first, at most MAX_CATCH_UP. Replay
 * judges every instant, so the daemon must too.
 */
export function instantsDue(lastTicked: number | undefined, firedAt: number, intervalMs: number): { instants: number[]; dropped: number } {
  const now = tickInstant(firedAt, intervalMs);
  if (lastTicked === undefined) return { instants: [now], dropped: 0 };
  if (now <= lastTicked) return { instants: [], dropped: 0 };
  const missed = (now - lastTicked) / intervalMs; // including now
  const from = missed > MAX_CATCH_UP ? now - (MAX_CATCH_UP - 1) * intervalMs : lastTicked + intervalMs;
  const instants: number[] = [];
  for (let at = from; at <= now; at += intervalMs) instants.push(at);
  return { instants, dropped: Math.max(0, missed - MAX_CATCH_UP) };
}
