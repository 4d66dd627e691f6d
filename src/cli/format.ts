// Small formatting helpers shared by the human-readable outputs.
import { formatDuration } from '../core/duration.js';
import type { Decision, Evidence } from '../core/engine.js';
import { formatValue } from '../core/comparison-text.js';
import { toRfc3339 } from '../core/time-format.js';

export { formatValue } from '../core/comparison-text.js';

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

/** A decision as `replay --json` (and `backtest --json`) writes it: times as RFC 3339, the evidence whole. */
export function decisionJson(d: Decision) {
  return {
    at: toRfc3339(d.at),
    action: d.action,
    tier: d.tier,
    rule: d.rule,
    ...(d.level !== undefined ? { level: d.level } : {}),
    value: d.value,
    threshold: d.threshold,
    mode: d.mode,
    evidence: { ...d.evidence, breachingSince: d.evidence.breachingSince !== undefined ? toRfc3339(d.evidence.breachingSince) : undefined },
  };
}

export type JudgeEvidence = NonNullable<Evidence['judge']>;

/** A canary judgement: the score against its thresholds, then one line per metric. */
export function judgeLines(jd: JudgeEvidence): string[] {
  const out = [`  judgement  ${jd.result}, score ${jd.score ?? 'n/a'} (pass at ${jd.pass}, marginal at ${jd.marginal})`];
  for (const m of jd.metrics) {
    const stats = m.pValue === null ? '' : `, p ${formatValue(m.pValue)}, effect ${m.effectSize === null ? 'n/a' : `x${formatValue(m.effectSize)}`}`;
    out.push(`    ${m.metric.padEnd(20)} ${m.verdict}${m.criticalFailure ? ' (critical)' : m.critical ? ' [critical metric]' : ''}: canary n=${m.canary.n} median ${formatValue(m.canary.median, 'n/a')}, stable n=${m.stable.n} median ${formatValue(m.stable.median, 'n/a')}${stats}; ${m.reason}`);
  }
  return out;
}
