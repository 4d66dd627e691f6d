// What each kind of rule reads at an instant, in one place: the observer fetches these parts, `check` and replay
// list them, and the engine finds them in the observation under the same keys. Pure.
import type { Rule, Ruleset, SourcePosition } from './ruleset.js';

export interface RulePart {
  /** Where the engine finds it: `value`, `guard`, `stable`, `short`, `canary:<metric>`, `stable:<metric>`. */
  key: string;
  query: string;
  /** Whose data it is: the target's, or (a canary's rules) its stable Deployment's. */
  side: 'target' | 'stable';
  /** The key of the part whose written query this one is bound from: itself, or for a stable part the target's. */
  from: string;
  /** Read as samples over a window (at asOf - windowMs + stepMs, ..., asOf) instead of at one instant. */
  range?: { windowMs: number; stepMs: number };
  /** For people: `rule error-rate-critical (when)`. */
  what: string;
  /** The key it is written under in the rules file. */
  field: string;
  at?: SourcePosition;
}

const pos = (at: SourcePosition | undefined) => (at ? { at } : {});

export function ruleParts(rule: Rule): RulePart[] {
  const out: RulePart[] = [];
  const what = `rule ${rule.name}`;
  if (rule.kind === 'burn-rate') {
    out.push({ key: 'value', query: rule.query, side: 'target', from: 'value', what: `${what} (${rule.slo.long} window)`, field: 'slo', ...pos(rule.queryAt) });
    out.push({ key: 'short', query: rule.shortQuery, side: 'target', from: 'short', what: `${what} (${rule.slo.short} window)`, field: 'slo', ...pos(rule.queryAt) });
  } else if (rule.kind === 'judge') {
    const range = { windowMs: rule.judge.windowMs, stepMs: rule.judge.stepMs };
    for (const [i, m] of rule.judge.metrics.entries()) {
      const field = `judge.metrics[${i}].query`;
      out.push({ key: `canary:${m.name}`, query: m.query, side: 'target', from: `canary:${m.name}`, range, what: `${what} (metric ${m.name})`, field, ...pos(m.queryAt) });
      if (m.stableQuery !== undefined) out.push({ key: `stable:${m.name}`, query: m.stableQuery, side: 'stable', from: `canary:${m.name}`, range, what: `${what} (metric ${m.name}, stable)`, field, ...pos(m.queryAt) });
    }
  } else {
    out.push({ key: 'value', query: rule.query, side: 'target', from: 'value', what, field: 'query', ...pos(rule.queryAt) });
    if (rule.stableQuery !== undefined) out.push({ key: 'stable', query: rule.stableQuery, side: 'stable', from: 'value', what: `${what} (stable)`, field: 'query', ...pos(rule.queryAt) });
  }
  if (rule.when) out.push({ key: 'guard', query: rule.when.query, side: 'target', from: 'guard', what: `${what} (when)`, field: 'when.query', ...pos(rule.when.queryAt) });
  return out;
}

/** How far before an instant a ruleset's range parts read (the longest judge window less one step); 0 without. */
export function lookbackMs(rules: readonly Rule[]): number {
  let most = 0;
  for (const r of rules) if (r.kind === 'judge') most = Math.max(most, r.judge.windowMs - r.judge.stepMs);
  return most;
}

/** The query a person reads for a rule (explain, report): its own, a burn rate's long window, a judge's metrics. */
export function ruleQueryText(rule: Rule): string {
  if (rule.kind === 'judge') return rule.judge.metrics.map((m) => `${m.name}: ${m.query}`).join('\n');
  if (rule.kind === 'burn-rate') return `${rule.query}\n${rule.shortQuery}`;
  return rule.query;
}

/** Every query a ruleset runs, with what it is for and where it is written: baselines, rules, traffic floors. */
export interface QueryUse {
  /** For people: `rule error-rate-critical`, `rule error-rate-critical (when)`, `baseline ttfa_p95`. */
  what: string;
  /** The key it is written under: `query`, `when.query`, `baselines.ttfa_p95.query`. */
  field: string;
  rule?: string;
  query: string;
  at?: SourcePosition;
  /** A judge's metric: read as samples over a window, not at one instant. */
  range?: { windowMs: number; stepMs: number };
}

export function rulesetQueries(ruleset: Ruleset): QueryUse[] {
  const out: QueryUse[] = [];
  for (const b of ruleset.baselines) out.push({ what: `baseline ${b.name}`, field: `baselines.${b.name}.query`, query: b.query, ...pos(b.queryAt) });
  for (const r of ruleset.rules) for (const p of ruleParts(r)) out.push({ what: p.what, field: p.field, rule: r.name, query: p.query, ...pos(p.at), ...(p.range ? { range: p.range } : {}) });
  return out;
}
