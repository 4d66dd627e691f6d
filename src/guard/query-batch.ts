// Sends what many targets' rules need at one instant: each distinct query once, and a per-target query that
// several targets need sent once for all of them, grouped by its target labels and split per target
// (core/query-grouping.ts, ADR 0015). A target with no series in the grouped answer is no-data for that target
// only. A source that throws (it should not) gives an error outcome, never a crash.
import { groupValues, groupedQuery, groupingOf, splitGrouped, type Grouping } from '../core/query-grouping.js';
import type { QueryOutcome } from '../core/query-outcome.js';
import type { MetricSource } from '../ports/metric-source.js';

export interface QueryNeed {
  /** The query as evaluated for `target` (bound). */
  query: string;
  asOf: number;
  /** The query as the rules file writes it and the target it is bound for, when it names its target. */
  shared?: { template: string; target: { namespace: string; deployment: string } };
}

/** Templates found at run time not to keep their target labels: sent per target from then on. */
export type Ungroupable = Map<string, string>;

export interface BatchOptions {
  /** Remembered across instants (the daemon keeps one); a fresh map when absent. */
  ungroupable?: Ungroupable;
  /** Told once per template found not to keep its target labels. */
  onUngroupable?: (template: string, reason: string) => void;
}

export async function fetchBatch(source: MetricSource, needs: readonly QueryNeed[], options: BatchOptions = {}): Promise<QueryOutcome[]> {
  const ungroupable = options.ungroupable ?? new Map<string, string>();
  const sent = new Map<string, Promise<QueryOutcome>>();
  const single = (query: string, asOf: number): Promise<QueryOutcome> => {
    const k = `${asOf}\u0000${query}`;
    let p = sent.get(k);
    if (!p) {
      p = source.instant(query, asOf).catch((err: unknown): QueryOutcome => ({ kind: 'error', error: err instanceof Error ? err.message : String(err) }));
      sent.set(k, p);
    }
    return p;
  };

  // Needs that may share a query: by template and instant, with the distinct targets' bound queries.
  const groups = new Map<string, { grouping: Grouping; asOf: number; queries: Map<string, { namespace: string; deployment: string }> }>();
  const groupOf = new Map<QueryNeed, string>();
  const analysed = new Map<string, ReturnType<typeof groupingOf>>();
  for (const need of needs) {
    if (!need.shared || ungroupable.has(need.shared.template)) continue;
    const found = analysed.get(need.shared.template) ?? groupingOf(need.shared.template);
    analysed.set(need.shared.template, found);
    if (!('grouping' in found)) continue;
    const k = `${need.asOf}\u0000${need.shared.template}`;
    const g = groups.get(k) ?? { grouping: found.grouping, asOf: need.asOf, queries: new Map<string, { namespace: string; deployment: string }>() };
    g.queries.set(need.query, need.shared.target);
    groups.set(k, g);
    groupOf.set(need, k);
  }
  // One target's query alone is sent as written (replay of one release sends exactly what it always did).
  const answers = new Map<string, Promise<Map<string, QueryOutcome> | undefined>>();
  for (const [k, g] of groups) {
    if (g.queries.size < 2) continue;
    const targets = [...g.queries.values()];
    answers.set(k, single(groupedQuery(g.grouping, targets), g.asOf).then((outcome) => {
      // Refused (a query too long for the backend, a regex it will not take): each target's own query may not be.
      const refused = outcome.kind === 'error' && outcome.refused === true;
      const split = refused ? undefined : splitGrouped(outcome, g.grouping, targets.map((t) => groupValues(g.grouping, t)));
      if (!split && !ungroupable.has(g.grouping.template)) {
        const reason = refused ? `the grouped query was refused (${outcome.error})` : 'its answer has a series without the target labels (an aggregation without `by` them)';
        ungroupable.set(g.grouping.template, reason);
        options.onUngroupable?.(g.grouping.template, reason);
      }
      return split;
    }));
  }
  return Promise.all(
    needs.map(async (need) => {
      const k = groupOf.get(need);
      const answer = k !== undefined ? await answers.get(k) : undefined;
      // Not grouped, or the grouped answer could not be split: this target's own query.
      return (answer && need.shared ? answer.get(groupValues(groups.get(k!)!.grouping, need.shared.target)) : undefined) ?? single(need.query, need.asOf);
    }),
  );
}
