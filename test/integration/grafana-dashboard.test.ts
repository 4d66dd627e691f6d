/* eslint-disable @typescript-eslint/no-unsafe-member-access -- dashboard JSON and rendered objects are untyped */
// The chart's Grafana dashboard (issue 23): off by default, a ConfigMap labelled for the Grafana sidecar when on,
// and every panel's PromQL (and the decisions annotation) answered by a real Prometheus scraping a real daemon
// that has just reverted a release. A panel with no data, or naming a metric the daemon does not export, fails.
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { parse as YAMLparse } from 'yaml';
import { startDaemon, type DaemonProcess } from '../helpers/daemon-process.js';
import { waitFor } from '../helpers/free-port.js';
import { HelmSubset } from '../helpers/helm-subset.js';
import { KubeStandIn } from '../helpers/kube-stand-in.js';
import { startLiveMetrics, type LiveMetrics } from '../helpers/live-stack.js';
import { disposePrometheus, startPrometheus, type PrometheusServer } from '../helpers/prometheus-server.js';
import { useTempDir } from '../helpers/temp-dir.js';

type Obj = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
const tmp = useTempDir();
const CHART = 'helm/rollback-guard';
const NS = 'voice-production';
const NAME = 'voice-server';
const RULES = `version: 1
target: { namespace: ${NS}, deployment: ${NAME} }
interval: 1s
windows: { minor: 10m }
rules:
  - name: error-rate-critical
    tier: immediate
    query: 'sum(rate(voice_http_requests_total{status=~"5.."}[5s])) / sum(rate(voice_http_requests_total[5s]))'
    above: 0.05
    for: 2s
  - name: error-rate-sustained
    tier: considered
    query: 'sum(rate(voice_http_requests_total{status=~"5.."}[5s])) / sum(rate(voice_http_requests_total[5s]))'
    above: 0.01
    for: 30s
`;

let live: LiveMetrics;
let kube: KubeStandIn;
let daemon: DaemonProcess;
let scraper: PrometheusServer;
let started: number;

beforeAll(async () => {
  live = await startLiveMetrics();
  kube = await new KubeStandIn().start();
  kube.createDeployment(NS, NAME, 'voice-server:1.4.1');
  const dir = tmp();
  fs.writeFileSync(path.join(dir, 'rules.yaml'), RULES);
  daemon = await startDaemon(['--rules', path.join(dir, 'rules.yaml'), '--prometheus', live.prom.url, '--kube-server', kube.url, '--db', path.join(dir, 'd.db'), '--interval', '1s', '--verify-timeout', '5s']);
  // A second Prometheus, as a cluster's would: it scrapes the daemon's /metrics every second.
  scraper = await startPrometheus({ scrapeTargets: [new URL(daemon.url).host], scrapeInterval: '1s' });
  started = Date.now();
  kube.setImage(NS, NAME, 'voice-server:1.5.0');
  await daemon.waitForLog(/guarding release/);
  live.exporter.errorRatio = 0.08;
  await waitFor('the release reverted', () => kube.image(NS, NAME) === 'voice-server:1.4.1', 45_000, 200);
  live.exporter.errorRatio = 0;
  await new Promise((r) => setTimeout(r, 4000)); // a few scrapes after the decision
}, 120_000);
afterAll(async () => {
  await daemon?.stop('SIGKILL');
  await disposePrometheus(scraper);
  await kube?.stop();
  await live?.close();
});

const dashboard = () => JSON.parse(fs.readFileSync(`${CHART}/dashboards/rollback-guard.json`, 'utf8')) as Obj;

it('off by default; when on, a ConfigMap labelled for the Grafana sidecar holding the dashboard as it is in the chart', () => {
  const helm = new HelmSubset(CHART);
  const values = (overrides: Obj) => ({ ...(YAMLValues() as Obj), ...overrides });
  expect((helm.render(values({})) as Obj[]).filter((o) => o.kind === 'ConfigMap' && String(o.metadata.name).endsWith('-dashboard'))).toEqual([]);
  const cm = (helm.render(values({ grafanaDashboard: { enabled: true, label: 'grafana_dashboard', labelValue: '1' } })) as Obj[]).find((o) => o.kind === 'ConfigMap' && String(o.metadata.name).endsWith('-dashboard'))!;
  expect(cm.metadata.labels).toMatchObject({ grafana_dashboard: '1' });
  expect(JSON.parse(cm.data['rollback-guard.json'] as string)).toEqual(dashboard());
});

it('every panel and the decisions annotation return data from a real Prometheus scraping the daemon, on metrics it exports', async () => {
  const exported = await (await fetch(`${daemon.url}/metrics`)).text();
  const d = dashboard();
  const queries: { where: string; expr: string }[] = [
    ...(d.panels as Obj[]).flatMap((p) => (p.targets as Obj[]).map((t) => ({ where: `panel "${p.title}"`, expr: t.expr as string }))),
    ...(d.annotations.list as Obj[]).map((a) => ({ where: `annotation "${a.name}"`, expr: a.expr as string })),
    { where: 'variable target', expr: 'rollback_guard_rule_state' },
  ];
  expect(queries.length).toBeGreaterThanOrEqual(10);
  const empty: string[] = [];
  for (const q of queries) {
    for (const m of q.expr.match(/rollback_guard_\w+/g) ?? []) {
      const family = m.replace(/_(bucket|sum|count)$/, '');
      expect(exported, `${q.where} names ${m}, which the daemon does not export`).toMatch(new RegExp(`^# TYPE ${family} `, 'm'));
    }
    // As Grafana sends it with "All" targets selected.
    const expr = q.expr.replaceAll('$target', '.*');
    const body = new URLSearchParams({ query: expr, start: String(started / 1000), end: String(Date.now() / 1000), step: '1' });
    const res = (await (await fetch(`${scraper.url}/api/v1/query_range`, { method: 'POST', body })).json()) as { status: string; error?: string; data?: { result: unknown[] } };
    expect(res.status, `${q.where}: ${expr}: ${res.error ?? ''}`).toBe('success');
    if (!res.data?.result.length) empty.push(`${q.where}: ${expr}`);
  }
  expect(empty, 'panels that showed no data').toEqual([]);
  // The decision shows as an annotation at the rollback, on the Deployment's series.
  expect(exported).toMatch(new RegExp(`^rollback_guard_last_decision_timestamp_seconds\\{target="${NS}/${NAME}",action="rollback"\\} \\d+`, 'm'));
}, 60_000);

function YAMLValues(): unknown {
  return JSON.parse(JSON.stringify(YAMLparse(fs.readFileSync(`${CHART}/values.yaml`, 'utf8'))));
}
