// `npm run bench` (part 2): the live daemon against a real Prometheus scraping a prom-client exporter and the
// Kubernetes API stand-in, every second. Reports, side by side, the time from a fault injected into the exporter
// to (a) the guard's rollback patch reaching the API stand-in and (b) a Prometheus alerting rule on the same
// expression and hold firing (Prometheus's own evaluation, same scrape and evaluation interval); then the
// daemon's CPU and RSS over a minute of polling an active release, configured as in production (PagerDuty and
// Slack stand-ins, leader election) and run with the image's memory settings. Figures only; nothing is asserted.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startDaemon } from '../helpers/daemon-process.js';
import { imageRuntime } from '../helpers/image-runtime.js';
import { PagerDutyStandIn } from '../helpers/pagerduty-stand-in.js';
import { ROUTING_KEYS } from '../helpers/paging-fixture.js';
import { SlackStandIn } from '../helpers/slack-stand-in.js';
import { waitFor } from '../helpers/free-port.js';
import { KubeStandIn } from '../helpers/kube-stand-in.js';
import { disposePrometheus, startPrometheus } from '../helpers/prometheus-server.js';
import { startVoiceExporter } from '../helpers/voice-exporter.js';

const EXPR = 'sum(rate(voice_http_requests_total{status=~"5.."}[5s])) / sum(rate(voice_http_requests_total[5s]))';
const HOLD = '2s';
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rollback-guard-daemon-bench-'));
const figure = (name: string, value: string, target = '') => console.log(`${name.padEnd(44)} ${value.padStart(16)}${target ? `   (target ${target})` : ''}`);

const exporter = await startVoiceExporter({ errorRatio: 0, requestsPerSecond: 100 });
const prom = await startPrometheus({
  scrapeTargets: [exporter.target],
  scrapeInterval: '1s',
  evaluationInterval: '1s',
  ruleFiles: [`groups:\n  - name: bench\n    interval: 1s\n    rules:\n      - alert: ErrorRateCritical\n        expr: '${EXPR} > 0.05'\n        for: ${HOLD}\n`],
});
const kube = await new KubeStandIn().start();
kube.createDeployment('voice-production', 'voice-server', 'voice-server:1.4.1');
const pd = new PagerDutyStandIn();
await pd.start();
const slack = new SlackStandIn();
await slack.start();
fs.writeFileSync(path.join(dir, 'ca.pem'), pd.cert);
const notifications = `notifications:\n  pagerduty: { server: '127.0.0.1:${pd.port}' }\n  slack: { apiUrl: '${slack.apiUrl}' }\n  levels:\n    - { level: 1, pagerduty: ONCALL, slack: '<!subteam^S0ONCALL>' }\n`;
const rules = path.join(dir, 'rules.yaml');
fs.writeFileSync(rules, `version: 1\ntarget: { namespace: voice-production, deployment: voice-server }\ninterval: 1s\nwindows: { minor: 1h }\n${notifications}rules:\n  - { name: error-rate-critical, tier: immediate, query: '${EXPR}', above: 0.05, for: ${HOLD} }\n`);
const runtime = imageRuntime();
console.log(`daemon started as the image does (from the Dockerfile): node ${runtime.nodeArgs.join(' ')}, ${JSON.stringify(runtime.env)}`);
const daemon = await startDaemon(['--rules', rules, '--prometheus', prom.url, '--kube-server', kube.url, '--db', path.join(dir, 'd.db'), '--interval', '1s', '--verify-timeout', '2s'], {
  LOG_LEVEL: 'info',
  PAGERDUTY_CA_FILE: path.join(dir, 'ca.pem'),
  PAGERDUTY_ROUTING_KEY_ONCALL: ROUTING_KEYS.ONCALL!,
  SLACK_BOT_TOKEN: slack.token,
}); // startDaemon runs it as the image does
await waitFor('a 5s rate in Prometheus', async () => ((await (await fetch(`${prom.url}/api/v1/query?query=${encodeURIComponent(EXPR)}`)).json()) as { data: { result: unknown[] } }).data.result.length > 0, 30_000, 200);
kube.setImage('voice-production', 'voice-server', 'voice-server:1.5.0');
await daemon.waitForLog(/guarding release/);

// Idle: a minute of polling an active, healthy release.
const stat = () => {
  const f = fs.readFileSync(`/proc/${daemon.child.pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return Number(f[11]) + Number(f[12]); // utime + stime, clock ticks
};
/** A memory line of the daemon's /proc status (VmRSS, RssAnon, RssFile), in MB. */
const statusMB = (key: string, status = fs.readFileSync(`/proc/${daemon.child.pid}/status`, 'utf8')) =>
  Number(new RegExp(`${key}:\\s+(\\d+)`).exec(status)![1]) / 1024;
const rss = () => statusMB('VmRSS');
const ticksPerS = 100;
// The main thread's voluntary context switches: each is a wakeup, and on these VMs wakeups are most of the idle
// CPU (about 0.1 ms each; ADR 0009).
const wakeups = () => Number(/^voluntary_ctxt_switches:\s+(\d+)$/m.exec(fs.readFileSync(`/proc/${daemon.child.pid}/task/${daemon.child.pid}/status`, 'utf8'))![1]);
const w0 = wakeups();
const c0 = stat();
const t0 = performance.now();
// V8 gives back what start-up grew (the release's first queries and baselines included) about 8 s after things go
// quiet (its memory reducer), so the minute's peak and the steady figure after 10 s are reported apart.
let peakRss = 0;
let lastRss = 0;
const settled: number[] = []; // the samples from 10 s on
while (performance.now() - t0 < 60_000) {
  lastRss = rss();
  peakRss = Math.max(peakRss, lastRss);
  if (performance.now() - t0 >= 10_000) settled.push(lastRss);
  await new Promise((r) => setTimeout(r, 1000));
}
const cpu = ((stat() - c0) / ticksPerS / ((performance.now() - t0) / 1000)) * 100;
figure('daemon idle CPU (1 min, 1 s polling)', `${cpu.toFixed(2)} %`, '< 2 %');
figure('  main-thread wakeups', `${((wakeups() - w0) / ((performance.now() - t0) / 1000)).toFixed(1)} /s`);
figure('daemon RSS (peak over that minute)', `${peakRss.toFixed(0)} MB`, '< 100 MB');
settled.sort((a, b) => a - b);
figure('daemon RSS (peak from 10 s on: steady)', `${settled.at(-1)!.toFixed(0)} MB`, '< 100 MB');
// The same build's RSS differs by several MB from run to run (native memory outside the V8 heap; ADR 0008), so
// the median from 10 s on and the V8 heap are reported too: they are what to compare between builds.
figure('daemon RSS (median from 10 s on)', `${settled[Math.floor(settled.length / 2)]!.toFixed(0)} MB`);
const heap = /^rollback_guard_nodejs_heap_size_total_bytes (\S+)$/m.exec(await (await fetch(`${daemon.url}/metrics`)).text());
figure('daemon V8 heap (total, at the end)', heap ? `${(Number(heap[1]) / 1024 / 1024).toFixed(1)} MB` : '-');
const status = fs.readFileSync(`/proc/${daemon.child.pid}/status`, 'utf8');
figure('daemon RSS (at the end of that minute)', `${lastRss.toFixed(0)} MB`);
figure('  of which anonymous / file-backed', `${statusMB('RssAnon', status).toFixed(0)} / ${statusMB('RssFile', status).toFixed(0)} MB`);

// Fault: error rate to 8 %. Race the guard's patch against Prometheus's own alert.
const injected = performance.now();
exporter.errorRatio = 0.08;
let patchAt: number | undefined;
let alertAt: number | undefined;
let breachVisibleAt: number | undefined;
await waitFor('both the rollback patch and the Prometheus alert', async () => {
  const now = performance.now();
  if (breachVisibleAt === undefined) {
    const r = (await (await fetch(`${prom.url}/api/v1/query?query=${encodeURIComponent(EXPR)}`)).json()) as { data: { result: { value: [number, string] }[] } };
    if (Number(r.data.result[0]?.value[1] ?? 0) > 0.05) breachVisibleAt = now;
  }
  if (patchAt === undefined && kube.deploymentWrites().some((w) => w.status !== undefined && w.status < 300)) patchAt = now;
  if (alertAt === undefined) {
    const a = (await (await fetch(`${prom.url}/api/v1/alerts`)).json()) as { data: { alerts: { state: string }[] } };
    if (a.data.alerts.some((x) => x.state === 'firing')) alertAt = now;
  }
  return patchAt !== undefined && alertAt !== undefined;
}, 60_000, 50);
const s = (t: number | undefined) => (t === undefined ? '-' : `${((t - injected) / 1000).toFixed(2)} s`);
figure('fault -> breach visible in a query', s(breachVisibleAt));
figure('fault -> guard rollback patch at the API', s(patchAt), 'no later than the alert');
figure('fault -> Prometheus alert firing (same hold)', s(alertAt));
if (breachVisibleAt !== undefined && patchAt !== undefined) figure('breach visible -> patch', `${((patchAt - breachVisibleAt) / 1000).toFixed(2)} s`, `<= hold ${HOLD} + 2 polls`);

await daemon.stop();
await kube.stop();
await pd.stop();
await slack.stop();
await disposePrometheus(prom);
await exporter.close();
fs.rmSync(dir, { recursive: true, force: true });
