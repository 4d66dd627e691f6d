// One query per rule per tick (ADR 0015), proven on real PromQL: a fleet of Deployments guarded by one rules file is
// evaluated twice over the same backfilled history in a real Prometheus, once as the daemon does (every target's
// needs in one batch: each shared query sent once, grouped by its target labels and split per target) and once
// target by target (each its own bound queries, as replay does). Every evaluation and decision must be the same,
// while the batch sends one query per rule query instead of one per target.
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseRules } from '../../src/core/parse-rules.js';
import { PrometheusClient } from '../../src/adapters/prometheus/prometheus-client.js';
import { PrometheusSource } from '../../src/adapters/prometheus/prometheus-source.js';
import { openDecisionLog } from '../../src/adapters/sqlite/sqlite-decision-store.js';
import { ReleaseGuard, tickGuards, type TickResult } from '../../src/guard/release-guard.js';
import type { MetricSource } from '../../src/ports/metric-source.js';
import { disposePrometheus, startPrometheus, type PrometheusServer } from '../helpers/prometheus-server.js';
import { cliAsync } from '../helpers/run-cli-async.js';
import { useTempDir } from '../helpers/temp-dir.js';

const tmp = useTempDir();
const STEP = 15;
const NOW = Math.floor(Date.now() / 1000 / STEP) * STEP - 60;
const START = NOW - 40 * 60; // the release start
const FROM = START - 70 * 60;

/** How each Deployment behaves after the release starts (minutes in, error ratio, P95 TTFA). */
interface Behaviour {
  namespace: string;
  deployment: string;
  rps: number;
  after?: { minute: number; errorRatio?: number; ttfa?: number };
}
const FLEET: Behaviour[] = [
  { namespace: 'prod', deployment: 'voice-server', rps: 95 },
  { namespace: 'prod', deployment: 'voice-server-canary', rps: 5, after: { minute: 5, errorRatio: 0.4 } },
  { namespace: 'prod', deployment: 'voice.server', rps: 20, after: { minute: 2, errorRatio: 0.03 } },
  { namespace: 'prod', deployment: 'api', rps: 30, after: { minute: 3, ttfa: 1.5 } },
  { namespace: 'edge', deployment: 'api', rps: 30 },
  // Not guarded, but matched by an unescaped `voice.server` regex: must never be read as voice.server's.
  { namespace: 'prod', deployment: 'voiceXserver', rps: 10, after: { minute: 0, errorRatio: 0.9 } },
];
const GUARDED = [...FLEET.filter((b) => b.deployment !== 'voiceXserver'), { namespace: 'prod', deployment: 'ghost', rps: 0 }];

function openMetrics(): string {
  const http: string[] = [];
  const ttfa: string[] = [];
  const les = [0.25, 0.5, 1, 2, 4];
  const state = FLEET.map(() => ({ ok: 0, err: 0, buckets: les.map(() => 0), inf: 0 }));
  for (let t = FROM; t <= NOW; t += STEP) {
    FLEET.forEach((b, i) => {
      const after = b.after && t >= START + b.after.minute * 60 ? b.after : undefined;
      const errorRatio = after?.errorRatio ?? 0.002;
      const p95 = after?.ttfa ?? 0.45;
      const s = state[i]!;
      const req = b.rps * STEP;
      s.err += req * errorRatio;
      s.ok += req * (1 - errorRatio);
      les.forEach((le, k) => (s.buckets[k]! += req * Math.min(1, le / (p95 / 0.95))));
      s.inf += req;
      const l = `namespace="${b.namespace}",deployment="${b.deployment}",pod="${b.deployment}-0"`;
      const r = (v: number) => Math.round(v * 1000) / 1000;
      http.push(`http_requests_total{${l},status="200"} ${r(s.ok)} ${t}`, `http_requests_total{${l},status="500"} ${r(s.err)} ${t}`);
      les.forEach((le, k) => ttfa.push(`ttfa_seconds_bucket{${l},le="${le}"} ${r(s.buckets[k]!)} ${t}`));
      ttfa.push(`ttfa_seconds_bucket{${l},le="+Inf"} ${r(s.inf)} ${t}`);
    });
  }
  return ['# TYPE http_requests counter', ...http, '# TYPE ttfa_seconds histogram', ...ttfa, '# EOF', ''].join('\n');
}

const BY = 'namespace="{{namespace}}",deployment="{{deployment}}"';
const RULES = `version: 1
targets:
${GUARDED.map((b) => `  - { namespace: ${b.namespace}, deployment: ${b.deployment}${b.deployment === 'voice-server-canary' ? ', compareTo: voice-server' : ''} }`).join('\n')}
interval: 15s
windows: { minor: 30m }
escalation:
  - { level: 1, after: 0m }
  - { level: 2, after: 5m }
baselines:
  ttfa_p95: { query: 'histogram_quantile(0.95, sum by (le, namespace, deployment) (rate(ttfa_seconds_bucket{${BY}}[10m])))' }
rules:
  - name: error-rate-critical
    tier: immediate
    query: 'sum by (namespace, deployment) (rate(http_requests_total{status=~"5..",${BY}}[2m])) / sum by (namespace, deployment) (rate(http_requests_total{${BY}}[2m]))'
    above: 0.05
    for: 1m
    when: { query: 'sum by (namespace, deployment) (rate(http_requests_total{${BY}}[2m]))', above: 0.1 }
  - name: error-rate-elevated
    tier: considered
    query: 'sum by (namespace, deployment) (rate(http_requests_total{status=~"5..",${BY}}[2m])) / sum by (namespace, deployment) (rate(http_requests_total{${BY}}[2m]))'
    above: 0.01
    for: 3m
  - name: ttfa-p95
    tier: immediate
    query: 'histogram_quantile(0.95, sum by (le, namespace, deployment) (rate(ttfa_seconds_bucket{${BY}}[2m])))'
    above: { baseline: ttfa_p95, factor: 2 }
    for: 1m
  - name: canary-error-rate
    tier: immediate
    query: 'sum by (namespace, deployment) (rate(http_requests_total{status=~"5..",${BY}}[2m])) / sum by (namespace, deployment) (rate(http_requests_total{${BY}}[2m]))'
    above: { stable: true, factor: 2, plus: 0.01 }
    for: 30s
  # Written without \`by\`: its answer cannot be split, so it is sent per target (and must decide the same).
  - name: outage
    tier: considered
    query: 'sum(rate(http_requests_total{${BY}}[2m]))'
    below: 0.01
    for: 1m
    noData: breach
`;

let prom: PrometheusServer;

beforeAll(async () => {
  prom = await startPrometheus({ openMetrics: openMetrics() });
}, 60_000);
afterAll(async () => {
  await disposePrometheus(prom);
});

/** A source that counts the queries it sends per instant. */
function counting(inner: MetricSource): MetricSource & { sent: Map<number, string[]> } {
  const sent = new Map<number, string[]>();
  return { sent, instant: (q, at) => (sent.set(at, [...(sent.get(at) ?? []), q]), inner.instant(q, at)) };
}

/** What a tick decided and evaluated, without the decision log's ids (two logs number rows apart). */
const comparable = (r: TickResult) => ({
  at: r.at,
  evaluations: r.evaluations,
  decisions: r.decisions.map(({ id: _id, releaseId: _releaseId, ...d }) => d),
});

describe('one query per rule per tick, not per target', () => {
  it('check: examples/fleet/rules.yaml has every rule query sent once for all targets, and Prometheus accepts each form', async () => {
    const r = await cliAsync(['check', '--prometheus', prom.url, 'examples/fleet/rules.yaml', 'examples/canary/rules.yaml']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain('examples/fleet/rules.yaml: OK: 9 rules (4 immediate, 5 considered), 2 baselines, every query accepted by Prometheus\n  12 of 12 per-target rule queries sent once for all the Deployments it selects\n');
    expect(r.stdout).toContain("  sent per target: rule error-rate-critical: it uses {{selector}}, and targets' selector labels may differ\n");
    // A fleet (select:) is checked bound for a stand-in Deployment of it, and in the form sent for all of them: a
    // broken query is named once, where it is written.
    const fleet = path.join(tmp(), 'fleet.yaml');
    fs.writeFileSync(fleet, fs.readFileSync('examples/fleet/rules.yaml', 'utf8').replace('deployment="{{deployment}}"})', 'deployment="{{deployment}}"}) +'));
    const bad = await cliAsync(['check', '--prometheus', prom.url, fleet]);
    // The shipped rules, for both their Deployments.
    const shipped = await cliAsync(['check', '--prometheus', prom.url, 'rules/voice-server.yaml']);
    expect(shipped.stdout).toBe('rules/voice-server.yaml: OK: 13 rules (5 immediate, 8 considered; 2 SLO window pairs counted as rules), 2 baselines, every query accepted by Prometheus\n  16 of 16 per-target rule queries sent once for all 2 targets\n');
    expect(bad.code).toBe(1);
    // Once, where it is written (not once per Deployment it is bound for, nor again as sent for all of them).
    expect(bad.stderr.trim().split('\n').map((l) => l.replace(/^.*fleet\.yaml:(\d+:\d+: rule "[^"]+": `query`[^:]*):.*$/, '$1'))).toEqual(['56:12: rule "complete-outage": `query`']);
  }, 60_000);

  it('decides exactly what each target evaluated alone decides, on real PromQL, with one query per rule query', async () => {
    const dir = tmp();
    const ruleset = parseRules(RULES, 'fleet.yaml');
    const source = counting(new PrometheusSource(new PrometheusClient({ url: prom.url })));
    const release = { startedAt: START * 1000, severity: 'minor' as const, windowMs: ruleset.windowsMs.minor };
    const begin = (store: ReturnType<typeof openDecisionLog>) => (b: { namespace: string; deployment: string }) =>
      ReleaseGuard.begin({
        ruleset, release, target: b, source, store, sourceName: 'test',
        ...(b.deployment === 'voice-server-canary' ? { stable: { namespace: 'prod', deployment: 'voice-server' } } : {}),
      });
    const batched = openDecisionLog(path.join(dir, 'batched.db'));
    const alone = openDecisionLog(path.join(dir, 'alone.db'));
    const fleet = await Promise.all(GUARDED.map(begin(batched)));
    const each = await Promise.all(GUARDED.map(begin(alone)));
    const instants = Array.from({ length: 121 }, (_, k) => (START + k * STEP) * 1000);
    const together: ReturnType<typeof comparable>[][] = GUARDED.map(() => []);
    const apart: ReturnType<typeof comparable>[][] = GUARDED.map(() => []);
    const sentTogether: number[] = [];
    const batch = { ungroupable: new Map<string, string>() }; // kept across instants, as the daemon keeps it
    for (const at of instants) {
      const before = source.sent.get(at)?.length ?? 0;
      const results = await tickGuards(source, fleet, at, batch);
      sentTogether.push((source.sent.get(at)?.length ?? 0) - before);
      results.forEach((r, i) => together[i]!.push(comparable(r)));
      for (const [i, g] of each.entries()) apart[i]!.push(comparable(await g.tick(at)));
    }
    batched.close();
    alone.close();

    for (const [i, b] of GUARDED.entries()) expect(together[i], `${b.namespace}/${b.deployment}`).toEqual(apart[i]);

    // The scenario decides something for each kind of target, so agreement is not agreement on nothing.
    const decided = (i: number) => together[i]!.flatMap((r) => r.decisions.map((d) => `${d.action}:${d.rule}`));
    const at = (ns: string, d: string) => GUARDED.findIndex((b) => b.namespace === ns && b.deployment === d);
    expect(decided(at('prod', 'voice-server'))).toEqual(['promote:null']);
    expect(decided(at('prod', 'voice-server-canary'))[0]).toMatch(/^rollback:(error-rate-critical|canary-error-rate)$/);
    expect(decided(at('prod', 'voice.server'))).toContain('page:error-rate-elevated');
    expect(decided(at('prod', 'voice.server'))).not.toContain('rollback:error-rate-critical'); // voiceXserver's 90 % is not its
    expect(decided(at('prod', 'api'))).toContain('rollback:ttfa-p95');
    expect(decided(at('edge', 'api'))).toEqual(['promote:null']);
    expect(decided(at('prod', 'ghost'))).toContain('page:outage');
    const ghost = together[at('prod', 'ghost')]!.flatMap((r) => r.evaluations).filter((e) => e.rule === 'error-rate-critical');
    expect(new Set(ghost.map((e) => e.verdict))).toEqual(new Set(['no-traffic']));

    // Per instant: the grouped rule queries (error ratio, its traffic floor, TTFA; the canary's stable reading is
    // the error ratio's) once each, and the outage rule once per target. Its grouped form was tried once, at the
    // first instant, and its answer (no target labels) not used.
    expect(sentTogether.slice(0, 2)).toEqual([4 + GUARDED.length, 3 + GUARDED.length]);
    expect(batch.ungroupable.size).toBe(1);
  }, 120_000);
});
