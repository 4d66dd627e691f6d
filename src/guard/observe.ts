// Reads what some rules need at one instant: each rule's query and its `when` traffic floor, concurrently, with
// identical query strings read once. A source that throws (it should not) gives an error outcome, never a crash.
import type { Observation } from '../core/engine.js';
import type { QueryOutcome } from '../core/query-outcome.js';
import type { Rule } from '../core/ruleset.js';
import type { MetricSource } from '../ports/metric-source.js';

export async function observe(source: MetricSource, rules: readonly Rule[], asOf: number): Promise<Map<string, Observation>> {
  const cache = new Map<string, Promise<QueryOutcome>>();
  const fetch = (q: string) => {
    let p = cache.get(q);
    if (!p) {
      p = source.instant(q, asOf).catch((err: unknown): QueryOutcome => ({ kind: 'error', error: err instanceof Error ? err.message : String(err) }));
      cache.set(q, p);
    }
    return p;
  };
  const observed = await Promise.all(
    rules.map(async (rule) => {
      const [value, guard, stable] = await Promise.all([fetch(rule.query), rule.when ? fetch(rule.when.query) : undefined, rule.stableQuery !== undefined ? fetch(rule.stableQuery) : undefined]);
      const obs: Observation = { value, ...(guard ? { guard } : {}), ...(stable ? { stable } : {}) };
      return [rule.name, obs] as const;
    }),
  );
  return new Map(observed);
}
