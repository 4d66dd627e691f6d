// Per-target queries: a rules file's queries may name the Deployment they are evaluated for. `bindRuleset` gives
// the ruleset as evaluated for one target, once, with every placeholder substituted and escaped. Pure.
//
//   {{namespace}}, {{deployment}}  the target's namespace and name, for use inside a PromQL string literal
//                                  ("..." or '...'): backslashes, quotes and newlines are escaped, so a value
//                                  can neither end the string nor inject PromQL.
//   {{selector}}                   the Deployment's pod selector (spec.selector.matchLabels) as label matchers,
//                                  `app="voice-server",track="canary"`, sorted by label, for use inside `{...}`.
//                                  A Kubernetes label key becomes a Prometheus label name the way the common
//                                  `labelmap` relabeling writes it: every character outside [a-zA-Z0-9_] is `_`
//                                  (`app.kubernetes.io/name` -> `app_kubernetes_io_name`).
import { TargetBindingError } from '../errors/target-binding-error.js';
import { ruleParts } from './rule-parts.js';
import type { Rule, Ruleset } from './ruleset.js';

export interface BoundTarget {
  namespace: string;
  deployment: string;
  /** The Deployment's spec.selector.matchLabels; needed only by rules that use {{selector}}. */
  selector?: Readonly<Record<string, string>>;
  /** For a canary (`compareTo`): the stable Deployment, which `stable` thresholds read the same query for. */
  stable?: Omit<BoundTarget, 'stable'>;
}

export const PLACEHOLDERS = ['namespace', 'deployment', 'selector'] as const;
const PLACEHOLDER = /\{\{\s*([A-Za-z_][\w.]*)\s*\}\}/g;

/** Escapes a value for a PromQL string literal, double- or single-quoted. */
export function promqlString(value: string): string {
  return value.replace(/[\\"'\n\r\t]/g, (c) => ({ '\\': '\\\\', '"': '\\"', "'": "\\'", '\n': '\\n', '\r': '\\r', '\t': '\\t' })[c]!);
}

/** A Kubernetes label key as a Prometheus label name (`labelmap` from `__meta_kubernetes_pod_label_*`). */
export function promLabelName(key: string): string {
  const name = key.replace(/[^a-zA-Z0-9_]/g, '_');
  return /^[0-9]/.test(name) ? `_${name}` : name;
}

/** `{{selector}}`'s matchers: `a="1",b="2"`, sorted by label name. */
export function selectorMatchers(selector: Readonly<Record<string, string>>): string {
  return Object.entries(selector)
    .map(([k, v]) => [promLabelName(k), v] as const)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([k, v]) => `${k}="${promqlString(v)}"`)
    .join(',');
}

/** The placeholders a query names that this version does not know (for `check`). */
export function unknownPlaceholders(query: string): string[] {
  return [...query.matchAll(PLACEHOLDER)].map((m) => m[1]!).filter((p) => !(PLACEHOLDERS as readonly string[]).includes(p));
}

export function usesPlaceholder(query: string, name: (typeof PLACEHOLDERS)[number]): boolean {
  return [...query.matchAll(PLACEHOLDER)].some((m) => m[1] === name);
}

/** `query` as evaluated for `t`. Throws TargetBindingError when it uses {{selector}} and `t` has none. */
export function bindQuery(query: string, t: BoundTarget): string {
  if (!query.includes('{{')) return query;
  return query.replace(PLACEHOLDER, (whole, name: string) => {
    if (name === 'namespace') return promqlString(t.namespace);
    if (name === 'deployment') return promqlString(t.deployment);
    if (name === 'selector') {
      if (!t.selector || Object.keys(t.selector).length === 0) throw new TargetBindingError(`the pod selector of ${t.namespace}/${t.deployment} is not known (or has no matchLabels), and a query uses {{selector}}: give it (replay and record: --selector key=value,...)`);
      return selectorMatchers(t.selector);
    }
    return whole; // unknown: `check` refuses it before a file is used
  });
}

/** Whether the ruleset depends on its target (placeholders, or rules relative to a stable Deployment). */
export function isPerTarget(rs: Ruleset): boolean {
  return queriesOf(rs).some((q) => q.includes('{{')) || rs.rules.some((r) => relativeToStable(r) && !stableBound(r));
}

/** A rule that reads the stable Deployment: a `stable` threshold, or a canary judge. */
function relativeToStable(r: Rule): boolean {
  return r.kind === 'judge' || (r.kind !== 'burn-rate' && r.threshold.kind === 'stable');
}

function stableBound(r: Rule): boolean {
  if (r.kind === 'judge') return r.stableProblem !== undefined || r.judge.metrics.every((m) => m.stableQuery !== undefined);
  if (r.kind === 'burn-rate') return true;
  return r.stableQuery !== undefined || r.stableProblem !== undefined;
}

/** The rule's query bound for the stable Deployment, or why it cannot be (its selector is not known yet). */
function stableQueryOf(query: string, stable: NonNullable<BoundTarget['stable']>): { stableQuery: string } | { stableProblem: string } {
  try {
    return { stableQuery: bindQuery(query, stable) };
  } catch (err) {
    if (err instanceof TargetBindingError) return { stableProblem: `stable Deployment: ${err.message}` };
    throw err;
  }
}

function queriesOf(rs: Ruleset): string[] {
  return [...rs.rules.flatMap((r) => ruleParts(r).filter((p) => p.side === 'target').map((p) => p.query)), ...rs.baselines.map((b) => b.query), ...Object.values(rs.notifications.summary).map((s) => s.query)];
}

function bindRule(r: Rule, t: BoundTarget): Rule {
  const bind = (q: string) => bindQuery(q, t);
  const when = r.when ? { when: { ...r.when, query: bind(r.when.query) } } : {};
  const stable = t.stable;
  if (r.kind === 'burn-rate') return { ...r, ...when, query: bind(r.query), shortQuery: bind(r.shortQuery) };
  if (r.kind === 'judge') {
    let problem: string | undefined;
    const metrics = r.judge.metrics.map((m) => {
      const s = stable ? stableQueryOf(m.query, stable) : undefined;
      if (s && 'stableProblem' in s) problem ??= s.stableProblem;
      return { ...m, query: bind(m.query), ...(s && 'stableQuery' in s ? { stableQuery: s.stableQuery } : {}) };
    });
    return { ...r, ...when, judge: { ...r.judge, metrics }, ...(problem !== undefined ? { stableProblem: problem } : {}) };
  }
  return { ...r, ...when, query: bind(r.query), ...(r.threshold.kind === 'stable' && stable ? stableQueryOf(r.query, stable) : {}) };
}

/**
 * The ruleset as evaluated for `t`: rules, `when:` floors, baselines and summary queries bound. Everything else,
 * the hash included (decisions name the file as written), is the file's.
 */
export function bindRuleset(rs: Ruleset, t: BoundTarget): Ruleset {
  if (!isPerTarget(rs)) return rs;
  const bind = (q: string) => bindQuery(q, t);
  return {
    ...rs,
    // A rule relative to the stable Deployment judges only a target that names one (a canary's `compareTo`).
    rules: rs.rules.filter((r) => !relativeToStable(r) || t.stable !== undefined).map((r) => bindRule(r, t)),
    baselines: rs.baselines.map((b) => ({ ...b, query: bind(b.query) })),
    notifications: { ...rs.notifications, summary: Object.fromEntries(Object.entries(rs.notifications.summary).map(([k, s]) => [k, { ...s, query: bind(s.query) }])) },
  };
}
