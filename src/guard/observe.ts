// Reads what rules need at one instant (core/rule-parts.ts: a rule's query, its `when` traffic floor, a `stable`
// threshold's reading of the stable Deployment, a burn rate's two windows, a judge's samples), for one target or
// many at once (guard/query-batch.ts sends each distinct query once, and a per-target query that several targets
// need once for all of them). A judge's windows are range queries, sent once per distinct query and window.
import type { BoundTarget } from '../core/bind-ruleset.js';
import type { Observation } from '../core/engine.js';
import type { RangeOutcome } from '../core/query-outcome.js';
import { ruleParts } from '../core/rule-parts.js';
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

interface RangeNeed {
  query: string;
  start: number;
  end: number;
  stepMs: number;
}

interface RuleNeeds {
  rule: string;
  instants: { key: string; need: QueryNeed }[];
  ranges: { key: string; need: RangeNeed }[];
}

function needsOf(req: ObservationRequest): RuleNeeds[] {
  const { asOf, target, file } = req;
  return req.rules.map((rule) => {
    const written = file?.rules.find((r) => r.name === rule.name);
    const templates = new Map(written ? ruleParts(written).map((p) => [p.key, p.query]) : []);
    const needs: RuleNeeds = { rule: rule.name, instants: [], ranges: [] };
    for (const part of ruleParts(rule)) {
      if (part.range) {
        needs.ranges.push({ key: part.key, need: { query: part.query, start: asOf - part.range.windowMs + part.range.stepMs, end: asOf, stepMs: part.range.stepMs } });
        continue;
      }
      // A per-target query several targets share is sent once for all of them (its template names the target).
      const template = templates.get(part.from);
      const bound = part.side === 'stable' ? target?.stable : target;
      const shared = template?.includes('{{') && bound ? { shared: { template, target: { namespace: bound.namespace, deployment: bound.deployment } } } : {};
      needs.instants.push({ key: part.key, need: { query: part.query, asOf, ...shared } });
    }
    return needs;
  });
}

/** Observations for each request, in order: one batch of queries for all of them. */
export async function observeMany(source: MetricSource, requests: readonly ObservationRequest[], options?: BatchOptions): Promise<Map<string, Observation>[]> {
  const perRequest = requests.map(needsOf);
  const flat = perRequest.flatMap((rules) => rules.flatMap((r) => r.instants.map((i) => i.need)));
  const rangeKey = (n: RangeNeed) => `${n.start}\u0000${n.end}\u0000${n.stepMs}\u0000${n.query}`;
  const ranges = new Map<string, Promise<RangeOutcome>>();
  for (const rules of perRequest) for (const r of rules) for (const { need } of r.ranges) if (!ranges.has(rangeKey(need))) ranges.set(rangeKey(need), readRange(source, need));
  const [outcomes, rangeOutcomes] = await Promise.all([fetchBatch(source, flat, options), Promise.all([...ranges.entries()].map(async ([k, p]) => [k, await p] as const))]);
  const answer = new Map(flat.map((need, i) => [need, outcomes[i]!]));
  const rangeAnswer = new Map(rangeOutcomes);
  return perRequest.map(
    (rules) =>
      new Map(
        rules.map((r) => {
          const obs: Observation = {};
          for (const { key, need } of r.instants) {
            const o = answer.get(need)!;
            if (key === 'value' || key === 'guard' || key === 'stable' || key === 'short') obs[key] = o;
          }
          if (r.ranges.length) obs.samples = Object.fromEntries(r.ranges.map(({ key, need }) => [key, rangeAnswer.get(rangeKey(need))!]));
          return [r.rule, obs] as const;
        }),
      ),
  );
}

function readRange(source: MetricSource, n: RangeNeed): Promise<RangeOutcome> {
  if (!source.range) return Promise.resolve({ kind: 'error', error: 'this metric source cannot read a window of samples' });
  return source.range(n.query, n.start, n.end, n.stepMs).catch((err: unknown): RangeOutcome => ({ kind: 'error', error: err instanceof Error ? err.message : String(err) }));
}

export async function observe(source: MetricSource, rules: readonly Rule[], asOf: number): Promise<Map<string, Observation>> {
  return (await observeMany(source, [{ rules, asOf }]))[0]!;
}
