// Replay straight from a real Prometheus over backfilled history: the real rate() and histogram_quantile().
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PrometheusClient } from '../../src/adapters/prometheus/prometheus-client.js';
import { scenarios, type Scenario } from '../fixtures/prometheus-scenarios.js';
import { disposePrometheus, startPrometheus, type PrometheusServer } from '../helpers/prometheus-server.js';
import { cli } from '../helpers/run-cli.js';
import { useTempDir } from '../helpers/temp-dir.js';

const tmp = useTempDir();
const RULES = 'rules/voice-server.yaml';
const iso = (s: number) => new Date(s * 1000).toISOString().replace('.000Z', 'Z');
let prom: PrometheusServer;
let list: Scenario[];

beforeAll(async () => {
  const s = scenarios();
  list = s.scenarios;
  prom = await startPrometheus({ openMetrics: s.openMetrics });
}, 60_000);
afterAll(() => disposePrometheus(prom));

interface Out {
  release: { outcome: string | null };
  decisions: { at: string; action: string; rule: string | null; mode: string; level?: number; value: number | null }[];
}

function replayProm(s: Scenario, ...extra: string[]): Out {
  const r = cli('replay', '--rules', RULES, '--prometheus', prom.url, '--from', iso(s.from), '--to', iso(s.to), '--release-at', iso(s.releaseAt), '--severity', s.severity, '--json', ...extra);
  expect(r.code, r.stderr).toBe(0);
  return JSON.parse(r.stdout) as Out;
}
const byName = (n: string) => list.find((s) => s.name === n)!;
const minutesAfter = (s: Scenario, at: string) => (Date.parse(at) / 1000 - s.releaseAt) / 60;

describe('replay --prometheus over real history', () => {
  it('a healthy hotfix is promoted at the end of its 15-minute window', () => {
    const s = byName('healthy');
    const out = replayProm(s);
    expect(out.decisions.map((d) => [d.action, d.at])).toEqual([['promote', iso(s.releaseAt + 900)]]);
  });

  it('an 8 % error spike is rolled back by error-rate-critical, a minute or two after it starts', () => {
    const s = byName('error-spike');
    const out = replayProm(s);
    const enforced = out.decisions.filter((d) => d.mode === 'enforce');
    expect(enforced.map((d) => [d.action, d.rule])).toEqual([['rollback', 'error-rate-critical']]);
    const t = minutesAfter(s, enforced[0]!.at);
    expect(t).toBeGreaterThan(6); // spike at +5m; the 2m rate crosses 5 %, then the 1m hold
    expect(t).toBeLessThan(8.5);
    expect(enforced[0]!.value).toBeCloseTo(0.08, 2);
    expect(out.release.outcome).toBe('rolled-back');
  });

  it('a sustained 2 % error rate pages (considered) after its 15-minute hold and escalates; no rollback', () => {
    const s = byName('sustained-2pct');
    const out = replayProm(s);
    const enforced = out.decisions.filter((d) => d.mode === 'enforce');
    expect(enforced.map((d) => [d.action, d.rule, d.level])).toEqual([
      ['page', 'error-rate-sustained', 1],
      ['escalate', 'error-rate-sustained', 2],
    ]);
    const t = minutesAfter(s, enforced[0]!.at);
    expect(t).toBeGreaterThan(20);
    expect(t).toBeLessThan(24);
    expect(minutesAfter(s, enforced[1]!.at) - t).toBe(15);
  });

  it('a TTFA regression to 0.8 s (1.7x the baseline) pages ttfa-regression and is not reverted (below 3x)', () => {
    const s = byName('ttfa-regression');
    const out = replayProm(s);
    const enforced = out.decisions.filter((d) => d.mode === 'enforce');
    expect(enforced.map((d) => [d.action, d.rule, d.level])).toEqual([
      ['page', 'ttfa-regression', 1],
      ['escalate', 'ttfa-regression', 2],
    ]);
    expect(minutesAfter(s, enforced[0]!.at)).toBeGreaterThan(10);
    expect(out.decisions.some((d) => d.action === 'rollback' && d.mode === 'enforce')).toBe(false);
  });

  it('a complete outage (every pod down) is rolled back by complete-outage', () => {
    const s = byName('outage');
    const out = replayProm(s);
    const enforced = out.decisions.filter((d) => d.mode === 'enforce');
    expect(enforced.map((d) => [d.action, d.rule])).toEqual([['rollback', 'complete-outage']]);
    expect(minutesAfter(s, enforced[0]!.at)).toBeGreaterThanOrEqual(6);
    expect(minutesAfter(s, enforced[0]!.at)).toBeLessThan(7.5);
  });

  it.each(['error-spike', 'sustained-2pct'])('%s: replaying from Prometheus and from a recording `record` made give identical decisions', (name) => {
    const s = byName(name);
    const file = path.join(tmp(), 'rec.json');
    const rec = cli('record', '--rules', RULES, '--prometheus', prom.url, '--from', iso(s.from), '--to', iso(s.to), '--step', '15s', '--out', file);
    expect(rec.code, rec.stderr).toBe(0);
    expect(rec.stderr).toMatch(/recorded 18 queries, \d+ samples/);
    // The span read is in the file, so a recording and Prometheus agree on where the data ends, empty or not.
    expect((JSON.parse(fs.readFileSync(file, 'utf8')) as { range: unknown }).range).toEqual({ start: Date.parse(iso(s.from)) / 1000, end: Date.parse(iso(s.to)) / 1000 });
    const fromRecording = cli('replay', '--rules', RULES, '--recording', file, '--release-at', iso(s.releaseAt), '--severity', s.severity, '--json');
    expect(fromRecording.code, fromRecording.stderr).toBe(0);
    const a = (JSON.parse(fromRecording.stdout) as Out).decisions;
    const b = replayProm(s).decisions;
    expect(a.length).toBeGreaterThan(0);
    expect(a).toEqual(b);
  });

  it('record writes to standard output without --out, and the recording is valid replay input', () => {
    const s = byName('healthy');
    const r = cli('record', '--rules', RULES, '--prometheus', prom.url, '--from', iso(s.releaseAt), '--to', iso(s.releaseAt + 120));
    expect(r.code, r.stderr).toBe(0);
    const rec = JSON.parse(r.stdout) as { version: number; step: number; target: unknown; queries: Record<string, { result: { values: unknown[] }[] }> };
    expect(rec.version).toBe(1);
    expect(rec.step).toBe(15);
    // Bound for the first target (voice-server), which the recording names, so replay binds the same queries.
    expect(rec.queries['sum by (namespace, deployment) (up{namespace="voice-production", deployment="voice-server"})']!.result[0]!.values).toHaveLength(9);
    expect(rec.target).toEqual({ namespace: 'voice-production', deployment: 'voice-server' });
  });
});

describe('record: failures', () => {
  it('an unreachable Prometheus: exit 2, naming the query that failed, and no file written', () => {
    const out = path.join(tmp(), 'never.json');
    const r = cli('record', '--rules', RULES, '--prometheus', 'http://127.0.0.1:9', '--prometheus-retry-budget', '500ms', '--from', '2026-11-20T13:00:00Z', '--to', '2026-11-20T14:00:00Z', '--out', out);
    expect(r.code).toBe(2);
    // Whichever query failed first: a baseline, a rule, its traffic floor, or a window of an SLO pair (availability-slo:1h-5m (5m window)).
    expect(r.stderr).toMatch(/^rollback-guard: error: (baseline|rule) [\w:-]+( \((when|\w+ window)\))?: cannot connect: ECONNREFUSED/m);
    expect(fs.existsSync(out)).toBe(false);
  });

  it('replay needs exactly one data source', () => {
    const r = cli('replay', '--rules', RULES, '--release-at', '2026-11-20T14:00:00Z');
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('give exactly one of --recording FILE or --prometheus URL');
  });
});

describe('check --prometheus', () => {
  it('accepts the shipped rules: every query is valid PromQL', () => {
    const r = cli('check', '--prometheus', prom.url, RULES);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain('every query accepted by Prometheus');
  });

  it('reports a query Prometheus rejects, by file, line, column and rule; exit 1', () => {
    const bad = path.join(tmp(), 'bad.yaml');
    const outage = "query: 'sum by (namespace, deployment) (up{namespace=\"{{namespace}}\", deployment=\"{{deployment}}\"})'";
    const text = fs.readFileSync(RULES, 'utf8').replace(outage, outage.slice(0, -2) + "'");
    fs.writeFileSync(bad, text);
    const line = text.split('\n').findIndex((l) => l.includes(outage.slice(0, -2) + "'")) + 1;
    const r = cli('check', '--prometheus', prom.url, bad);
    expect(r.code).toBe(1);
    expect(r.stdout).toContain(`${bad}: FAILED: 1 problem`);
    expect(r.stderr).toMatch(new RegExp(`${bad.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}:${line}:12: rule "complete-outage": \`query\`: Prometheus rejected the query \\(HTTP 400, bad_data\\)`));
  });

  it('an unreachable Prometheus is an error of the check, not of the file: exit 2', () => {
    const r = cli('check', '--prometheus', 'http://127.0.0.1:9', '--prometheus-retry-budget', '1s', RULES);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/^rollback-guard: error: cannot check the queries of rules\/voice-server\.yaml against Prometheus at http:\/\/127\.0\.0\.1:9\/?: cannot connect: ECONNREFUSED .*; fix --prometheus \/ PROMETHEUS_URL, or check without it$/m);
    expect(r.stdout).toBe(''); // the file was not judged: no OK and no FAILED line
  });
});

describe('range queries over the 11,000-points limit', () => {
  it('are split into chunks and stitched: every step present once, in order', async () => {
    const client = new PrometheusClient({ url: prom.url });
    const start = Date.parse('2026-11-20T00:00:00Z');
    const end = start + 4 * 3600_000; // 14,401 points at 1 s
    const r = await client.queryRange('vector(1)', start, end, 1000);
    expect(r.series).toHaveLength(1);
    const times = r.series[0]!.values.map(([t]) => t);
    expect(times).toHaveLength(14_401);
    expect(times.every((t, i) => i === 0 || t - times[i - 1]! === 1)).toBe(true);
    expect(times[0]).toBe(start / 1000);
    expect(times.at(-1)).toBe(end / 1000);
  });
});
