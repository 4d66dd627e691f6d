// The canary that hides inside the service's average (issue: judge each Deployment on its own traffic), end to end
// against a real Prometheus: a stable exporter at 950 requests a second and a canary at 50 (5 %), scraped with a
// `deployment` label each. The canary fails 40 % of its requests: the service-wide error rate is about 2 %, under
// the 5 % immediate threshold, but the canary judged on its own series against the stable one is reverted.
import fs from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { startDaemon, type DaemonProcess } from '../helpers/daemon-process.js';
import { waitFor } from '../helpers/free-port.js';
import { KubeStandIn } from '../helpers/kube-stand-in.js';
import { disposePrometheus, startPrometheus, waitForSeries, type PrometheusServer } from '../helpers/prometheus-server.js';
import { cliAsync } from '../helpers/run-cli-async.js';
import { useTempDir } from '../helpers/temp-dir.js';
import { startVoiceExporter, type VoiceExporter } from '../helpers/voice-exporter.js';

const tmp = useTempDir();
const NS = 'voice-production';
const ERRORS = (d: string) => `sum(rate(voice_http_requests_total{deployment=${d},status=~"5.."}[5s])) / sum(rate(voice_http_requests_total{deployment=${d}}[5s]))`;
const RULES = `version: 1
targets:
  - { namespace: ${NS}, deployment: voice-server }
  - { namespace: ${NS}, deployment: voice-server-canary, compareTo: voice-server }
interval: 1s
windows: { minor: 10m }
rules:
  # As the shipped rules write it: the whole service.
  - name: service-error-rate-critical
    tier: immediate
    query: '${ERRORS('~"voice-server.*"')}'
    above: 0.05
    for: 2s
  # The canary on its own series, against the stable Deployment's at the same instant.
  - name: canary-error-rate
    tier: immediate
    query: '${ERRORS('"{{deployment}}"')}'
    above: { stable: true, factor: 2, plus: 0.01 }
    for: 2s
    when: { query: 'sum(rate(voice_http_requests_total{deployment="{{deployment}}"}[5s]))', above: 1 }
`;

let stable: VoiceExporter;
let canary: VoiceExporter;
/** For the judge: a stable Deployment at 1 % errors and two canaries at 5 % of its traffic each. */
let judged: { stable: VoiceExporter; failing: VoiceExporter; healthy: VoiceExporter };
let prom: PrometheusServer;
let kube: KubeStandIn;
let daemon: DaemonProcess | undefined;

beforeAll(async () => {
  stable = await startVoiceExporter({ errorRatio: 0.002, requestsPerSecond: 950 });
  canary = await startVoiceExporter({ errorRatio: 0.002, requestsPerSecond: 50 });
  judged = {
    stable: await startVoiceExporter({ errorRatio: 0.01, requestsPerSecond: 950 }),
    failing: await startVoiceExporter({ errorRatio: 0.01, requestsPerSecond: 50 }),
    healthy: await startVoiceExporter({ errorRatio: 0.01, requestsPerSecond: 50 }),
  };
  const targetLabels = {
    [stable.target]: { deployment: 'voice-server' },
    [canary.target]: { deployment: 'voice-server-canary' },
    [judged.stable.target]: { deployment: 'voice-judged' },
    [judged.failing.target]: { deployment: 'voice-judged-canary-a' },
    [judged.healthy.target]: { deployment: 'voice-judged-canary-b' },
  };
  prom = await startPrometheus({ scrapeTargets: Object.keys(targetLabels), targetLabels, scrapeInterval: '1s' });
  await waitForSeries(prom, 'sum by (deployment) (rate(voice_http_requests_total[5s]))', 5); // every exporter
  kube = await new KubeStandIn().start();
}, 60_000);
afterAll(async () => {
  await daemon?.stop('SIGKILL');
  await kube?.stop();
  await disposePrometheus(prom);
  await Promise.all([stable?.close(), canary?.close(), judged?.stable.close(), judged?.failing.close(), judged?.healthy.close()]);
});

it('examples/canary/rules.yaml: every per-target query, bound, is PromQL that a real Prometheus accepts', async () => {
  const r = await cliAsync(['check', '--prometheus', prom.url, 'examples/canary/rules.yaml']);
  expect(r.code, r.stderr).toBe(0);
  expect(r.stdout).toMatch(/OK: 4 rules \(3 immediate, 1 considered\), 1 baseline/);
}, 60_000);

it('a canary failing 40 % at 5 % of traffic: the service reads about 2 %, the canary is reverted on its own series', async () => {
  const dir = tmp();
  fs.writeFileSync(path.join(dir, 'rules.yaml'), RULES);
  const db = path.join(dir, 'decisions.db');
  kube.createDeployment(NS, 'voice-server', 'voice-server:1.4.1');
  kube.createDeployment(NS, 'voice-server-canary', 'voice-server:1.4.1');
  daemon = await startDaemon(['--rules', path.join(dir, 'rules.yaml'), '--prometheus', prom.url, '--kube-server', kube.url, '--db', db, '--interval', '1s', '--verify-timeout', '5s']);
  kube.setImage(NS, 'voice-server-canary', 'voice-server:1.5.0');
  await waitFor('the canary release guarded', () => daemon!.logs.some((l) => l.msg === 'guarding release' && l.target === `${NS}/voice-server-canary` && l.adopted === false), 20_000, 50);
  canary.errorRatio = 0.4;
  const image = (name: string) => kube.image(NS, name);
  await waitFor('the canary reverted', () => image('voice-server-canary') === 'voice-server:1.4.1', 45_000, 100);
  await daemon.stop('SIGTERM');
  daemon = undefined;
  const log = new Database(db, { readonly: true });
  const rollback = log.prepare(`SELECT d.rule, d.value, d.threshold, r.deployment FROM decisions d JOIN releases r ON r.id = d.release_id WHERE d.action = 'rollback'`).all() as { rule: string; value: number; threshold: number; deployment: string }[];
  // What the service-wide rule read meanwhile, on the canary's release: under its threshold the whole time.
  const service = log.prepare(`SELECT max(e.value) FROM evaluations e JOIN releases r ON r.id = e.release_id WHERE r.deployment = 'voice-server-canary' AND e.rule = 'service-error-rate-critical'`).pluck().get() as number;
  log.close();
  expect(rollback.map((r) => [r.deployment, r.rule])).toEqual([['voice-server-canary', 'canary-error-rate']]);
  // How much of the 5 s rate window the failure fills at the decision depends on scrape timing (0.16-0.29 seen):
  // what holds is that the canary's own rate is over the service-wide rule's 5 %, and its stable-relative
  // threshold (stable x 2 + 0.01) far under it.
  expect(rollback[0]!.value).toBeGreaterThan(0.05);
  expect(rollback[0]!.threshold).toBeLessThan(0.02);
  expect(rollback[0]!.value).toBeGreaterThan(rollback[0]!.threshold);
  expect(service).toBeGreaterThan(0.01);
  expect(service).toBeLessThan(0.05);
  // Only the canary was written to: the stable Deployment is not touched.
  expect(kube.deploymentWrites().filter((w) => w.status !== undefined && w.status < 300).map((w) => w.path)).toEqual([expect.stringMatching(/\/deployments\/voice-server-canary$/)]);
}, 120_000);

const JUDGE_RULES = `version: 1
targets:
  - { namespace: ${NS}, deployment: voice-judged }
  - { namespace: ${NS}, deployment: voice-judged-canary-a, compareTo: voice-judged }
  - { namespace: ${NS}, deployment: voice-judged-canary-b, compareTo: voice-judged }
interval: 1s
windows: { minor: 10m }
rules:
  - name: canary-judge
    tier: immediate
    for: 2s
    judge:
      window: 20s
      step: 1s
      metrics:
        - name: error-rate
          query: '${ERRORS('"{{deployment}}"')}'
          critical: true
        - name: ttfa-p95
          query: 'histogram_quantile(0.95, sum by (le) (rate(voice_ttfa_seconds_bucket{deployment="{{deployment}}"}[5s])))'
`;

it('canary judge: a canary failing 40 % at 5 % of traffic is judged fail and reverted; a noisy healthy one passes', async () => {
  const dir = tmp();
  fs.writeFileSync(path.join(dir, 'rules.yaml'), JUDGE_RULES);
  const db = path.join(dir, 'decisions.db');
  for (const d of ['voice-judged', 'voice-judged-canary-a', 'voice-judged-canary-b']) kube.createDeployment(NS, d, 'voice-server:1.4.1');
  daemon = await startDaemon(['--rules', path.join(dir, 'rules.yaml'), '--prometheus', prom.url, '--kube-server', kube.url, '--db', db, '--interval', '1s', '--verify-timeout', '5s']);
  kube.setImage(NS, 'voice-judged-canary-a', 'voice-server:1.5.0');
  kube.setImage(NS, 'voice-judged-canary-b', 'voice-server:1.5.0');
  const guarded = (d: string) => daemon!.logs.some((l) => l.msg === 'guarding release' && l.target === `${NS}/${d}` && l.adopted === false);
  await waitFor('both canary releases guarded', () => guarded('voice-judged-canary-a') && guarded('voice-judged-canary-b'), 20_000, 50);
  judged.failing.errorRatio = 0.4;
  await waitFor('the failing canary reverted', () => kube.image(NS, 'voice-judged-canary-a') === 'voice-server:1.4.1', 60_000, 100);
  // The healthy canary has been judged as long as the failing one, over the same windows.
  await new Promise((r) => setTimeout(r, 3000));
  await daemon.stop('SIGTERM');
  daemon = undefined;
  const log = new Database(db, { readonly: true });
  const rollbacks = log.prepare(`SELECT d.id, d.rule, d.value, d.threshold, d.evidence, r.deployment FROM decisions d JOIN releases r ON r.id = d.release_id WHERE d.action = 'rollback'`).all() as { id: number; rule: string; value: number; threshold: number; evidence: string; deployment: string }[];
  const healthy = log.prepare(`SELECT e.verdict, count(*) AS n FROM evaluations e JOIN releases r ON r.id = e.release_id WHERE r.deployment = 'voice-judged-canary-b' GROUP BY e.verdict`).all() as { verdict: string; n: number }[];
  const healthyFired = log.prepare(`SELECT count(*) FROM evaluations e JOIN releases r ON r.id = e.release_id WHERE r.deployment = 'voice-judged-canary-b' AND e.state = 'firing'`).pluck().get() as number;
  log.close();
  expect(rollbacks.map((r) => [r.deployment, r.rule, r.value, r.threshold])).toEqual([['voice-judged-canary-a', 'canary-judge', 0, 75]]);
  const judge = (JSON.parse(rollbacks[0]!.evidence) as { judge: { result: string; metrics: { metric: string; verdict: string; criticalFailure: boolean; pValue: number; effectSize: number }[] } }).judge;
  expect(judge.result).toBe('fail');
  const err = judge.metrics.find((m) => m.metric === 'error-rate')!;
  expect([err.verdict, err.criticalFailure]).toEqual(['high', true]);
  expect(err.pValue).toBeLessThan(0.02);
  expect(err.effectSize).toBeGreaterThan(2);
  // The healthy canary (its 5 s error rate jumps around stable's 1 %): judged at every instant, never held long
  // enough to fire. A single instant may be judged fail: the samples are overlapping 5 s rates, so they are not
  // independent and the U test's 2 % false-positive rate is a floor, not a bound (seen once in CI under load);
  // the rule's `for` is what keeps one such judgement from reverting a release.
  const verdicts = Object.fromEntries(healthy.map((h) => [h.verdict, h.n]));
  const judgedAt = healthy.reduce((n, h) => n + h.n, 0);
  expect(Object.keys(verdicts).filter((v) => v !== 'pass' && v !== 'breach' && v !== 'marginal')).toEqual([]);
  expect(judgedAt).toBeGreaterThan(10);
  expect(verdicts.pass ?? 0).toBeGreaterThanOrEqual(Math.ceil(judgedAt * 0.8));
  expect(healthyFired).toBe(0);
  expect(kube.image(NS, 'voice-judged-canary-b')).toBe('voice-server:1.5.0');
  // What a person reads afterwards: the judgement and one line per metric.
  const explained = await cliAsync(['explain', String(rollbacks[0]!.id), '--db', db]);
  expect(explained.code, explained.stderr).toBe(0);
  expect(explained.stdout).toMatch(/judgement {2}fail, score 0 \(pass at 95, marginal at 75\)/);
  expect(explained.stdout).toMatch(/error-rate +high \(critical\): canary n=\d+ median [\d.]+, stable n=\d+ median [\d.]+, p [\d.e-]+, effect x[\d.]+; interval \[/);
  expect(explained.stdout).toMatch(/ttfa-p95 +pass/);
}, 120_000);
