import { describe, expect, it } from 'vitest';
import { bindQuery } from '../../src/core/bind-ruleset.js';
import { groupValues, groupedQuery, groupingOf, splitGrouped, type Grouping } from '../../src/core/query-grouping.js';
import type { QueryOutcome } from '../../src/core/query-outcome.js';
import { fetchBatch, type QueryNeed } from '../../src/guard/query-batch.js';
import type { MetricSource } from '../../src/ports/metric-source.js';

const ERR = 'sum by (namespace, deployment) (rate(http_requests_total{status=~"5..",namespace="{{namespace}}",deployment="{{deployment}}"}[2m])) / sum by (namespace, deployment) (rate(http_requests_total{namespace="{{namespace}}",deployment="{{deployment}}"}[2m]))';
const grouping = (q: string): Grouping => {
  const g = groupingOf(q);
  if (!('grouping' in g)) throw new Error(g.reason);
  return g.grouping;
};

describe('which per-target queries can be sent once for many targets', () => {
  it.each([
    [ERR, ['deployment', 'namespace']],
    ["sum by (deployment) (rate(x{deployment='{{ deployment }}'}[5m]))", ['deployment']],
    ['histogram_quantile(0.95, sum by (le, namespace, deployment) (rate(b{namespace="{{namespace}}",deployment="{{deployment}}"}[5m])))', ['deployment', 'namespace']],
    ['sum by (kube_deployment) (x{kube_deployment="{{deployment}}"}) / on(kube_deployment) sum by (kube_deployment) (y{kube_deployment="{{deployment}}"})', ['kube_deployment']],
  ])('groups %s by %j', (q, labels) => {
    expect(grouping(q).labels.map((l) => l.label)).toEqual(labels);
  });

  it.each([
    ['up{job="voice-server"}', /names no target/],
    ['sum(rate(x{ {{selector}} }[5m]))', /\{\{selector\}\}/],
    ['sum(rate(x{pod=~"{{deployment}}-.*"}[5m]))', /not the whole value/],
    ['sum(x{deployment!="{{deployment}}"})', /not the whole value/],
    ['topk(1, x{deployment="{{deployment}}"})', /topk\(\) chooses among series/],
    ['absent(x{deployment="{{deployment}}"})', /absent\(\)/],
    ['sum by (deployment) (x{deployment="{{deployment}}"}) or vector(0)', /vector\(\)/],
    ['sum by (deployment) (x{deployment="{{deployment}}"}) / ignoring(deployment) sum(y)', /ignoring\(deployment\)/],
    ['sum by (deployment) (x{deployment="{{deployment}}"}) / on() sum(y)', /on\(\) would match/],
    ['sum without (deployment) (x{deployment="{{deployment}}"})', /without\(deployment\)/],
    ['x{app="{{deployment}}"} / y{app="{{namespace}}"}', /label app is matched on both/],
  ])('sends %s per target: %s', (q, reason) => {
    const g = groupingOf(q);
    expect('reason' in g && g.reason).toMatch(reason);
  });
});

describe('the grouped query and its split', () => {
  it('widens each target matcher to an anchored regex over the targets, values escaped for RE2 and for the string', () => {
    const g = grouping('sum by (namespace, deployment) (x{namespace="{{namespace}}",deployment=\'{{deployment}}\'})');
    const q = groupedQuery(g, [
      { namespace: 'prod', deployment: 'voice.server' },
      { namespace: 'prod', deployment: 'a"b' },
      { namespace: 'edge', deployment: 'voice.server' },
    ]);
    // `.` is literal, not any character; a quote cannot end the string; each value once, sorted.
    expect(q).toBe('sum by (namespace, deployment) (x{namespace=~"edge|prod",deployment=~\'a\\"b|voice\\\\.server\'})');
  });

  it('splits by the target labels: series to their target, none is no-data for that target only, errors to all', () => {
    const g = grouping(ERR);
    const keys = [{ namespace: 'p', deployment: 'a' }, { namespace: 'p', deployment: 'b' }, { namespace: 'q', deployment: 'a' }].map((t) => groupValues(g, t));
    const answer: QueryOutcome = {
      kind: 'series',
      series: [
        { labels: { namespace: 'p', deployment: 'a' }, value: 0.5 },
        { labels: { namespace: 'q', deployment: 'a' }, value: Number.NaN },
        { labels: { namespace: 'z', deployment: 'a' }, value: 9 }, // matched by the regex cross product, not guarded
      ],
    };
    const split = splitGrouped(answer, g, keys)!;
    expect([...split.values()]).toEqual([
      { kind: 'series', series: [{ labels: { namespace: 'p', deployment: 'a' }, value: 0.5 }] },
      { kind: 'empty' },
      { kind: 'series', series: [{ labels: { namespace: 'q', deployment: 'a' }, value: Number.NaN }] },
    ]);
    expect([...splitGrouped({ kind: 'error', error: 'timeout' }, g, keys)!.values()]).toEqual(Array(3).fill({ kind: 'error', error: 'timeout' }));
    // An answer that dropped the labels (a `sum` without `by`) is never split, nor given to every target.
    expect(splitGrouped({ kind: 'series', series: [{ labels: {}, value: 1 }] }, g, keys)).toBeUndefined();
  });
});

/** A metric source answering from a table by query string, counting what it was sent. */
function tableSource(table: (query: string) => QueryOutcome): MetricSource & { sent: string[] } {
  const sent: string[] = [];
  return { sent, instant: (q) => (sent.push(q), Promise.resolve(table(q))) };
}

describe('fetching a batch of needs', () => {
  const targets = ['a', 'b', 'c'].map((deployment) => ({ namespace: 'p', deployment }));
  const needsOf = (template: string, asOf = 1000): QueryNeed[] => targets.map((target) => ({ query: bindQuery(template, target), asOf, shared: { template, target } }));
  /** Series of a and b (c has none), for a's or b's own query or a regex over them, as Prometheus answers. */
  const byDeployment = (q: string): QueryOutcome => {
    const series = ['a', 'b'].filter((d) => q.includes(`deployment="${d}"`) || (/deployment=~"([^"]*)"/.exec(q)?.[1] ?? '').split('|').includes(d));
    return series.length ? { kind: 'series', series: series.map((d) => ({ labels: { namespace: 'p', deployment: d }, value: d === 'a' ? 0.1 : 0.2 })) } : { kind: 'empty' };
  };

  it('sends a query several targets share once, and gives each target its own part', async () => {
    const source = tableSource(byDeployment);
    const out = await fetchBatch(source, [...needsOf(ERR), ...needsOf(ERR)]);
    expect(source.sent).toHaveLength(1);
    expect(source.sent[0]).toContain('deployment=~"a|b|c"');
    expect(out.slice(0, 3).map((o) => (o.kind === 'series' ? o.series[0]!.value : o.kind))).toEqual([0.1, 0.2, 'empty']);
  });

  it('sends one target alone exactly as bound, and instants apart as apart', async () => {
    const source = tableSource(byDeployment);
    await fetchBatch(source, [needsOf(ERR)[0]!, { ...needsOf(ERR, 2000)[1]! }]);
    expect(source.sent).toEqual([bindQuery(ERR, targets[0]!), bindQuery(ERR, targets[1]!)]);
  });

  it('an answer without the target labels is not split: each target is asked alone, and from then on', async () => {
    const template = 'sum(x{deployment="{{deployment}}"})';
    const source = tableSource((q) => ({ kind: 'series', series: [{ labels: {}, value: q.includes('=~') ? 99 : 1 }] }));
    const told: string[] = [];
    const options = { ungroupable: new Map<string, string>(), onUngroupable: (t: string) => told.push(t) };
    const first = await fetchBatch(source, needsOf(template), options);
    expect(first.map((o) => (o.kind === 'series' ? o.series[0]!.value : o.kind))).toEqual([1, 1, 1]);
    expect(source.sent).toHaveLength(4);
    source.sent.length = 0;
    await fetchBatch(source, needsOf(template), options);
    expect(source.sent).toEqual(targets.map((t) => bindQuery(template, t)));
    expect(told).toEqual([template]);
  });

  it('a grouped query the backend refuses (bad_data) is asked per target instead; a failure to answer is not', async () => {
    const refusing = tableSource((q) => (q.includes('=~"a|b|c"') ? { kind: 'error', error: 'RG_PROM_BAD_QUERY: too long', refused: true } : byDeployment(q)));
    const out = await fetchBatch(refusing, needsOf(ERR));
    expect(refusing.sent).toHaveLength(4);
    expect(out.map((o) => o.kind)).toEqual(['series', 'series', 'empty']);
    // Timeouts are the same for each target's own query: asking 3 more times would only triple the load.
    const down = tableSource(() => ({ kind: 'error', error: 'RG_PROM_TIMEOUT: 10s' }));
    expect((await fetchBatch(down, needsOf(ERR))).map((o) => o.kind)).toEqual(['error', 'error', 'error']);
    expect(down.sent).toHaveLength(1);
  });

  it('a source that throws is an error outcome for each target that needed it, never a crash', async () => {
    const source: MetricSource = { instant: () => Promise.reject(new Error('socket hang up')) };
    expect(await fetchBatch(source, needsOf(ERR))).toEqual(Array(3).fill({ kind: 'error', error: 'socket hang up' }));
  });
});
