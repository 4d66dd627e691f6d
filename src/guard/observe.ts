// Reads what rules need at one instant: each rule's query, its `when` traffic floor and a `stable` threshold's
// reading of the stable Deployment, for one target or many at once (guard/query-batch.ts sends each distinct
// query once, and a per-target query that several targets need once for all of them).
import type { BoundTarget } from '../core/bind-ruleset.js';
import type { Observation } from '../core/engine.js';
import type { Rule, Ruleset } from '../core/ruleset.js';
import type { MetricSource } from '../ports/metric-source.js';
import { fetchBatch, type BatchOptions, type QueryNeed } from './query-batch.js';

/** One target's rules due at an instant, with what they were bound from (`file`: the rules as written). */
export interface ObservationRequest {
  rules: readonly Rule[];
  asOf: number;
  target?: BoundTarget;
  file?: Ruleset;
}

interface RuleNeeds {
  rule: string;
  value: QueryNeed;
  guard?: QueryNeed;
  stable?: QueryNeed;
}

function needsOf(req: ObservationRequest): RuleNeeds[] {
  const { asOf, target, file } = req;
  const shared = (template: string | undefined, t: BoundTarget | undefined) => (template?.includes('{{') && t ? { shared: { template, target: { namespace: t.namespace, deployment: t.deployment } } } : {});
  return req.rules.map((rule) => {
    const written = file?.rules.find((r) => r.name === rule.name);
    return {
      rule: rule.name,
      value: { query: rule.query, asOf, ...shared(written?.query, target) },
      ...(rule.when ? { guard: { query: rule.when.query, asOf, ...shared(written?.when?.query, target) } } : {}),
      ...(rule.stableQuery !== undefined ? { stable: { query: rule.stableQuery, asOf, ...shared(written?.query, target?.stable) } } : {}),
    };
  });
}

/** Observations for each request, in order: one batch of queries for all of them. */
export async function observeMany(source: MetricSource, requests: readonly ObservationRequest[], options?: BatchOptions): Promise<Map<string, Observation>[]> {
  const perRequest = requests.map(needsOf);
  const flat = perRequest.flatMap((rules) => rules.flatMap((r) => [r.value, ...(r.guard ? [r.guard] : []), ...(r.stable ? [r.stable] : [])]));
  const outcomes = await fetchBatch(source, flat, options);
  const answer = new Map(flat.map((need, i) => [need, outcomes[i]!]));
  return perRequest.map(
    (rules) =>
      new Map(
        rules.map((r) => {
          const obs: Observation = { value: answer.get(r.value)!, ...(r.guard ? { guard: answer.get(r.guard)! } : {}), ...(r.stable ? { stable: answer.get(r.stable)! } : {}) };
          return [r.rule, obs] as const;
        }),
      ),
  );
}

export async function observe(source: MetricSource, rules: readonly Rule[], asOf: number): Promise<Map<string, Observation>> {
  return (await observeMany(source, [{ rules, asOf }]))[0]!;
}
