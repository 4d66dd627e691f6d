// The fleet bench's daemon side: the daemon's own code (Daemon with the Deployment watcher, the Prometheus client,
// the Kubernetes actuator and the SQLite decision log) guarding N Deployments of examples/fleet/rules.yaml, each with
// an active release, ticked at 15 s steps of simulated time as fast as ticks complete. Prints one line:
//   fleet: N targets, Q queries/tick, tick p50 X ms p99 Y ms, RSS Z MB, decision log W MB/day
// Plain JavaScript on the built code (dist/), as the image runs it: a TypeScript loader would add its own ~35 MB to
// the RSS reported. Run by fleet-bench.ts: node test/bench/fleet-daemon.js N PROMETHEUS_URL KUBE_URL
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { pino } from 'pino';
import { DeploymentWatcher } from '../../dist/adapters/kubernetes/deployment-watcher.js';
import { KubeActuator } from '../../dist/adapters/kubernetes/kube-actuator.js';
import { serverClients } from '../../dist/adapters/kubernetes/kube-client.js';
import { PrometheusClient } from '../../dist/adapters/prometheus/prometheus-client.js';
import { PrometheusSource } from '../../dist/adapters/prometheus/prometheus-source.js';
import { SqliteActionJournal } from '../../dist/adapters/sqlite/sqlite-action-journal.js';
import { openDecisionLog } from '../../dist/adapters/sqlite/sqlite-decision-store.js';
import { parseRules } from '../../dist/core/parse-rules.js';
import { Daemon } from '../../dist/daemon/daemon.js';
import { DaemonMetrics } from '../../dist/daemon/metrics.js';
import { soleLeader } from '../../dist/daemon/null-ports.js';

const [n, promUrl, kubeUrl] = [Number(process.argv[2]), process.argv[3], process.argv[4]];
const TICKS = Number(process.env.FLEET_TICKS ?? 40);
const STEP = 15_000;
const targets = Array.from({ length: n }, (_, i) => ({ namespace: 'fleet', deployment: `app-${i}` }));
// The fleet's Deployments listed (the bench creates them; a `select:` would find the same ones through one watch).
const text = fs.readFileSync('examples/fleet/rules.yaml', 'utf8').replace(/^select:.*\n(?: {2}.*\n)+/m, `targets:\n${targets.map((t) => `  - { namespace: ${t.namespace}, deployment: ${t.deployment} }`).join('\n')}\n`);
const ruleset = parseRules(text, 'examples/fleet/rules.yaml');
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rollback-guard-fleet-bench-'));
const store = openDecisionLog(path.join(dir, 'decisions.db'));
let sent = 0;
const prometheus = new PrometheusSource(new PrometheusClient({ url: promUrl }));
/** @type {import('../../src/ports/metric-source.js').MetricSource} */
const source = { instant: (q, at) => (sent++, prometheus.instant(q, at)) };
const k = serverClients({ server: kubeUrl });
let now = Math.ceil(Date.now() / STEP) * STEP;
const clock = { now: () => now };
const daemon = new Daemon({
  rulesets: [ruleset],
  journal: new SqliteActionJournal(store.db),
  source,
  store,
  actuator: new KubeActuator(k),
  releases: new DeploymentWatcher(k, { targets, relistMs: 3600_000 }),
  leader: soleLeader,
  events: { emit: () => {} },
  clock,
  log: pino({ level: 'error' }),
  metrics: new DaemonMetrics(),
  options: { dryRun: false, blindAfterMs: 120_000, verifyTimeoutMs: 300_000 },
});
await daemon.start();
while (daemon.status().activeReleases.length < n) await sleep(50);

const size = () => {
  store.db.pragma('wal_checkpoint(TRUNCATE)');
  return Number(store.db.pragma('page_count', { simple: true })) * Number(store.db.pragma('page_size', { simple: true }));
};
const bytes0 = size();
sent = 0;
/** @type {number[]} */
const times = [];
let rss = 0;
for (let i = 0; i < TICKS; i++) {
  now += STEP;
  const t = performance.now();
  await daemon.tick(now);
  times.push(performance.now() - t);
  rss = Math.max(rss, process.memoryUsage().rss);
}
const perDay = ((size() - bytes0) / (TICKS * STEP)) * 86_400_000;
if (daemon.status().activeReleases.length !== n) throw new Error(`only ${daemon.status().activeReleases.length} of ${n} releases still guarded: the bench judged something unhealthy`);
times.sort((a, b) => a - b);
/** @param {number} p */
const pct = (p) => times[Math.min(times.length - 1, Math.ceil((p / 100) * times.length) - 1)] ?? Number.NaN;
console.log(`fleet: ${n} targets, ${(sent / TICKS).toFixed(0)} queries/tick, tick p50 ${pct(50).toFixed(0)} ms p99 ${pct(99).toFixed(0)} ms, RSS ${(rss / 1048576).toFixed(0)} MB, decision log ${(perDay / 1048576).toFixed(0)} MB/day`);
await daemon.stop();
store.close();
fs.rmSync(dir, { recursive: true, force: true });
process.exit(0);
