// Multi-window, multi-burn-rate SLO rules (Google SRE workbook, ch. 5 "Alerting on SLOs"). An `slo:` rule is
// written once and evaluated as one rule per window pair, each breaching while the error budget burns faster
// than its rate over both its long and its short window. Pure: the PromQL is generated here and the two
// windows' answers are judged here.
import type { QueryOutcome } from './query-outcome.js';
import type { BurnRateRule } from './ruleset.js';

/** The error budget as a ratio: 99.9 -> 0.001, without the float noise of 1 - 0.999. */
export function errorBudget(objectivePercent: number): number {
  return Number(((100 - objectivePercent) / 100).toPrecision(12));
}

/**
 * One window's burn rate as PromQL: the error ratio over the window divided by the budget, so the number the
 * query gives is the number judged (paste it into Prometheus and see the same). `{{window}}` in the parts is the
 * window (`1h`); the target placeholders stay for per-target binding.
 */
export function burnRateQuery(parts: { errors?: string; good?: string; total: string }, window: string, objectivePercent: number): string {
  const w = (q: string) => q.trim().replace(/\{\{\s*window\s*\}\}/g, window);
  const ratio = parts.errors !== undefined ? `(${w(parts.errors)}) / (${w(parts.total)})` : `1 - ((${w(parts.good!)}) / (${w(parts.total)}))`;
  return `(${ratio}) / ${errorBudget(objectivePercent)}`;
}

/** A window's reading: the highest burn rate among its series, or why there is none. */
type WindowReading = { kind: 'value'; value: number } | { kind: 'no-data'; detail: string } | { kind: 'error'; detail: string };

function readWindow(o: QueryOutcome | undefined): WindowReading {
  if (!o) return { kind: 'error', detail: 'query was not run' };
  if (o.kind === 'error') return { kind: 'error', detail: o.error };
  if (o.kind === 'empty') return { kind: 'no-data', detail: 'empty result' };
  let most: number | undefined;
  for (const s of o.series) if (!Number.isNaN(s.value) && (most === undefined || s.value > most)) most = s.value;
  // 0/0: no requests in the window. No traffic is not a healthy burn rate.
  return most === undefined ? { kind: 'no-data', detail: 'every series is NaN (no requests in the window?)' } : { kind: 'value', value: most };
}

export interface BurnRateJudgement {
  verdict: 'breach' | 'pass' | 'no-data' | 'error';
  /** The pair's burn rate: the lower of the two windows' (both must exceed the rate), or the one known. */
  value: number | null;
  long: number | null;
  short: number | null;
  detail?: string;
}

/**
 * Both windows above the rate: breach. Either window known at or below it: pass (the pair cannot fire whatever
 * the other says). Otherwise unknown: error when a window could not be read, else no-data (a breach instead when
 * the rule says `noData: breach`).
 */
export function judgeBurnRate(rule: BurnRateRule, longOutcome: QueryOutcome | undefined, shortOutcome: QueryOutcome | undefined): BurnRateJudgement {
  const rate = rule.slo.burnRate;
  const long = readWindow(longOutcome);
  const short = readWindow(shortOutcome);
  const l = long.kind === 'value' ? long.value : null;
  const s = short.kind === 'value' ? short.value : null;
  const known = [l, s].filter((v): v is number => v !== null);
  const value = known.length ? Math.min(...known) : null;
  const out = { value, long: l, short: s };
  if (known.some((v) => !(v > rate))) return { ...out, verdict: 'pass' };
  if (known.length === 2) return { ...out, verdict: 'breach' };
  const unknown = [long.kind !== 'value' ? { w: rule.slo.long, r: long } : undefined, short.kind !== 'value' ? { w: rule.slo.short, r: short } : undefined].filter((x) => x !== undefined);
  const detail = unknown.map((u) => `${u.w} window: ${(u.r as { detail: string }).detail}`).join('; ');
  if (unknown.some((u) => u.r.kind === 'error')) return { ...out, verdict: 'error', detail };
  return { ...out, verdict: rule.noData === 'breach' ? 'breach' : 'no-data', detail };
}
