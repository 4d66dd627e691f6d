// Small formatting helpers shared by the human-readable outputs.
import { formatDuration } from '../core/duration.js';

/** Numbers as people read them in a timeline: 4 significant digits, Prometheus spellings for the odd ones. */
export function formatValue(v: number | null | undefined): string {
  if (v === null || v === undefined) return '-';
  if (Number.isNaN(v)) return 'NaN';
  if (!Number.isFinite(v)) return v > 0 ? '+Inf' : '-Inf';
  if (v === 0) return '0';
  const abs = Math.abs(v);
  if (abs >= 1e6 || abs < 1e-3) return v.toExponential(3).replace(/\.?0+e/, 'e');
  return String(Number(v.toPrecision(4)));
}

export function formatOffset(ms: number): string {
  return (ms < 0 ? '-' : '+') + formatDuration(Math.abs(ms));
}

/** Left-aligned columns, two spaces apart; the last column is not padded. */
export function table(rows: readonly (readonly string[])[]): string {
  const widths: number[] = [];
  for (const row of rows) row.forEach((cell, i) => (widths[i] = Math.max(widths[i] ?? 0, cell.length)));
  return rows.map((row) => row.map((cell, i) => (i === row.length - 1 ? cell : cell.padEnd(widths[i]!))).join('  ').trimEnd()).join('\n');
}

/**
 * A release's outcome as the readers show it. A replay (`replay --db`) is marked as one: nobody guarded it, and
 * one whose data ended before an outcome is not "guarding".
 */
export function outcomeText(outcome: string | null, source: string): string {
  if (!isReplay(source)) return outcome ?? 'guarding';
  return `${outcome ?? 'no outcome (recorded data ended)'} (replay)`;
}

/** A release written by `replay --db` (source `replay:recording` or `replay:prometheus`), not guarded live. */
export function isReplay(source: string): boolean {
  return source.startsWith('replay');
}
