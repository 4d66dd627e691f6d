// One query per rule per tick, not per target (ADR 0015). A per-target query that names its target only as whole
// label values (`deployment="{{deployment}}"`) and keeps those labels through every aggregation
// (`sum by (namespace, deployment) (...)`) is sent once for all the targets that need it at an instant, with each
// such matcher widened to a regex over their values (`deployment=~"a|b"`), and the answer split per target by
// those labels. Every series a target's own query would return carries its target's values, and every step of
// such a query works series by series or within the groups the labels keep, so each target's part of the answer
// is what its own query returns. Whatever could break that is refused here (the rule is then sent per target, as
// before), and an answer with a series that lacks a target label is never split. Pure.
import type { BoundTarget } from './bind-ruleset.js';
import { promqlString } from './bind-ruleset.js';
import type { QueryOutcome, SeriesSample } from './query-outcome.js';

type TargetPlaceholder = 'namespace' | 'deployment';

export interface Grouping {
  template: string;
  /** The label each target placeholder is matched on, e.g. `{ label: 'deployment', placeholder: 'deployment' }`. */
  labels: readonly { label: string; placeholder: TargetPlaceholder }[];
}

const ANY_PLACEHOLDER = /\{\{\s*([A-Za-z_][\w.]*)\s*\}\}/g;
/** `label="{{deployment}}"` or `label='{{namespace}}'`: a whole label value, matched for equality. */
const TARGET_MATCHER = /([a-zA-Z_][a-zA-Z0-9_]*)\s*=\s*(["'])\{\{\s*(namespace|deployment)\s*\}\}\2/g;
/**
 * Functions that choose among series or make labels up: over several targets at once they answer differently
 * than for each alone (topk picks across targets; absent and vector invent a series with no target labels).
 */
const CROSS_SERIES = /\b(topk|bottomk|limitk|limit_ratio|absent|absent_over_time|scalar|vector|label_replace|label_join|count_values)\s*\(/;
const MODIFIER = /\b(on|ignoring|without)\s*\(([^)]*)\)/g;

/** How `template` can be sent once for several targets, or why it cannot (it is then sent per target). */
export function groupingOf(template: string): { grouping: Grouping } | { reason: string } {
  const placeholders = [...template.matchAll(ANY_PLACEHOLDER)];
  if (placeholders.length === 0) return { reason: 'it names no target' };
  if (placeholders.some((m) => m[1] === 'selector')) return { reason: "it uses {{selector}}, and targets' selector labels may differ" };
  const matchers = [...template.matchAll(TARGET_MATCHER)];
  if (matchers.length !== placeholders.length) return { reason: 'a placeholder is not the whole value of an equality matcher (label="{{deployment}}")' };
  const byLabel = new Map<string, TargetPlaceholder>();
  for (const m of matchers) {
    const [label, placeholder] = [m[1]!, m[3] as TargetPlaceholder];
    if ((byLabel.get(label) ?? placeholder) !== placeholder) return { reason: `label ${label} is matched on both {{namespace}} and {{deployment}}` };
    byLabel.set(label, placeholder);
  }
  const cross = CROSS_SERIES.exec(template);
  if (cross) return { reason: `${cross[1]}() chooses among series or makes labels up` };
  const labels = [...byLabel].map(([label, placeholder]) => ({ label, placeholder })).sort((a, b) => (a.label < b.label ? -1 : 1));
  for (const m of template.matchAll(MODIFIER)) {
    const named = m[2]!.split(',').map((s) => s.trim()).filter(Boolean);
    const kept = (l: string) => named.includes(l);
    if (m[1] === 'on' ? !labels.every((l) => kept(l.label)) : labels.some((l) => kept(l.label))) {
      return { reason: `${m[1]}(${m[2]!.trim()}) would match or merge series of different targets` };
    }
  }
  return { grouping: { template, labels } };
}

/** The values a target's series carry in the grouping's labels, as one key. */
export function groupValues(grouping: Grouping, target: Pick<BoundTarget, TargetPlaceholder>): string {
  return grouping.labels.map((l) => target[l.placeholder]).join('\u0000');
}

/** RE2 (Prometheus's regex syntax) for exactly `value`: every metacharacter escaped. */
function regexLiteral(value: string): string {
  return value.replace(/[\\.+*?()|[\]{}^$]/g, (c) => `\\${c}`);
}

/** The query for all `targets` at once: each target matcher widened to a regex over their values (sorted). */
export function groupedQuery(grouping: Grouping, targets: readonly Pick<BoundTarget, TargetPlaceholder>[]): string {
  return grouping.template.replace(TARGET_MATCHER, (_whole, label: string, quote: string, placeholder: TargetPlaceholder) => {
    const values = [...new Set(targets.map((t) => t[placeholder]))].sort();
    return `${label}=~${quote}${promqlString(values.map(regexLiteral).join('|'))}${quote}`;
  });
}

/**
 * A grouped answer split by the grouping's labels: each key of `wanted` (from `groupValues`) gets its series, or
 * `empty` when it has none. Errors go to every key. Undefined when a series lacks one of the labels: the query
 * does not keep them (an aggregation without `by`), so the answer cannot be split and is not used.
 */
export function splitGrouped(outcome: QueryOutcome, grouping: Grouping, wanted: Iterable<string>): Map<string, QueryOutcome> | undefined {
  const keys = [...wanted];
  if (outcome.kind !== 'series') return new Map(keys.map((k) => [k, outcome]));
  const parts = new Map<string, SeriesSample[]>(keys.map((k) => [k, []]));
  for (const s of outcome.series) {
    if (grouping.labels.some((l) => s.labels[l.label] === undefined)) return undefined;
    parts.get(grouping.labels.map((l) => s.labels[l.label]).join('\u0000'))?.push(s);
  }
  const warnings = outcome.warnings?.length ? { warnings: outcome.warnings } : {};
  return new Map([...parts].map(([k, series]) => [k, series.length ? { kind: 'series', series, ...warnings } : { kind: 'empty', ...warnings }]));
}
