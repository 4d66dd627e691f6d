// Replay decides exactly what the daemon decided (ADR 0001). The real daemon (`run`) guards several Deployments on
// the Kubernetes stand-in, against a Prometheus stand-in whose series are seeded random functions of time, through
// releases that start off the evaluation grid; then `replay --prometheus --from-log` replays each of its releases.
// The two decision logs must agree row by row: every decision (action, rule, instant, value, threshold, level),
// every evaluation, and every recovery verdict. The first difference fails the test and is named.
import fs from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DifferentialHistory, differentialRules, prng } from '../fixtures/differential-scenario.js';
import { startDaemon, type DaemonProcess } from '../helpers/daemon-process.js';
import { waitFor } from '../helpers/free-port.js';
import { KubeStandIn } from '../helpers/kube-stand-in.js';
import { disposePrometheus, startPrometheus, waitForSeries, type PrometheusServer } from '../helpers/prometheus-server.js';
import { PrometheusStandIn } from '../helpers/prometheus-stand-in.js';
import { cliAsync } from '../helpers/run-cli-async.js';
import { useTempDir } from '../helpers/temp-dir.js';
import { startVoiceExporter, type VoiceExporter } from '../helpers/voice-exporter.js';

const tmp = useTempDir();
const NS = 'diff';
const DEPLOYMENTS = Array.from({ length: 8 }, (_, i) => `app-${i}`);
const RELEASES_EACH = 3;
/** Guarded by one file with per-target queries. */
const FLEET = DEPLOYMENTS.slice(0, 6);
/** Set DIFFERENTIAL_SEED to soak other histories; the default is fixed so a failure reproduces. */
const SEED = Number(process.env.DIFFERENTIAL_SEED ?? 20261207);

interface Row {
  [column: string]: string | number | null;
}

/** The first row where two lists differ, described; undefined when they agree. */
export function firstDifference(what: string, live: readonly Row[], replayed: readonly Row[]): string | undefined {
  for (let i = 0; i < Math.max(live.length, replayed.length); i++) {
    const a = JSON.stringify(live[i] ?? null);
    const b = JSON.stringify(replayed[i] ?? null);
    if (a !== b) return `${what}, row ${i + 1}:\n  daemon: ${a}\n  replay: ${b}`;
  }
  return undefined;
}

const DECISIONS = `SELECT at, action, rule, level, value, threshold FROM decisions WHERE release_id = ? ORDER BY id`;
const EVALUATIONS = `SELECT at, rule, verdict, state, value, threshold FROM evaluations WHERE release_id = ? ORDER BY at, rule`;

let history: DifferentialHistory;
let prom: PrometheusStandIn;
let kube: KubeStandIn;
let daemon: DaemonProcess | undefined;
let dir: string;
let db: string;

/** Releases of one Deployment one after another, each started off the grid once the previous one has ended. */
async function releaseInTurn(deployment: string, rnd: () => number): Promise<void> {
  const log = new Database(db, { readonly: true });
  try {
    for (let n = 2; n <= RELEASES_EACH + 1; n++) {
      await new Promise((r) => setTimeout(r, 300 + Math.floor(rnd() * 2000)));
      const at = new Date().toISOString();
      kube.setImage(NS, deployment, `${deployment}:${n}`);
      // Ended (promoted, or rolled back and its recovery judged): the next release would cut a recovery check short.
      await waitFor(`release ${n} of ${deployment} to end`, () => {
        const r = log.prepare(`SELECT r.outcome, (SELECT count(*) FROM rollbacks b WHERE b.release_id = r.id AND b.recovery IS NULL) AS judging FROM releases r WHERE deployment = ? AND started_at >= ? ORDER BY id LIMIT 1`).get(deployment, at) as { outcome: string | null; judging: number } | undefined;
        return r?.outcome != null && r.judging === 0;
      }, 90_000, 100);
    }
  } finally {
    log.close();
  }
}

describe('replay decides exactly what the daemon decided', () => {
  beforeAll(async () => {
    dir = tmp();
    db = path.join(dir, 'decisions.db');
    history = new DifferentialHistory(SEED, Math.ceil(Date.now() / 1000) * 1000, DEPLOYMENTS, 400);
    prom = await new PrometheusStandIn(history.value).start();
    kube = await new KubeStandIn().start();
    const args = ['--prometheus', prom.url, '--kube-server', kube.url, '--db', db, '--interval', '1s', '--verify-timeout', '5s'];
    // Most Deployments in one file whose queries name their target (sent once for all of them), the rest one file
    // each: grouped and per-target queries both in the comparison.
    fs.writeFileSync(path.join(dir, 'fleet.yaml'), differentialRules(NS, FLEET));
    args.push('--rules', path.join(dir, 'fleet.yaml'));
    for (const d of DEPLOYMENTS) {
      kube.createDeployment(NS, d, `${d}:1`);
      if (FLEET.includes(d)) continue;
      fs.writeFileSync(path.join(dir, `${d}.yaml`), differentialRules(NS, d));
      args.push('--rules', path.join(dir, `${d}.yaml`));
    }
    daemon = await startDaemon(args);
  }, 60_000);

  afterAll(async () => {
    await daemon?.stop('SIGKILL');
    await kube?.stop();
    await prom?.stop();
  });

  it(`${DEPLOYMENTS.length * RELEASES_EACH} releases off the grid, seed ${SEED}: the same decisions, evaluations and recovery verdicts, row by row`, async () => {
    const rnd = prng(SEED);
    await Promise.all(DEPLOYMENTS.map((d) => releaseInTurn(d, prng(Math.floor(rnd() * 2 ** 32)))));
    await daemon!.stop('SIGTERM');
    daemon = undefined;

    const live = new Database(db, { readonly: true });
    const releases = live.prepare(`SELECT id, deployment, started_at, outcome FROM releases WHERE source = 'live' AND outcome IN ('rolled-back', 'promoted') ORDER BY id`).all() as LiveRelease[];
    live.close();
    expect(releases.length).toBeGreaterThanOrEqual(20);
    // Off the grid: a release seen at 14:00:00.400 is judged from 14:00:01 on, live and replayed.
    expect(releases.filter((r) => Date.parse(r.started_at) % 1000 !== 0).length).toBeGreaterThanOrEqual(releases.length - 1);
    // The daemon sent shared queries once for several Deployments; replay sends each release's own.
    expect(prom.requests.grouped).toBeGreaterThan(0);
    const compared = await replayEach(db, releases, (r) => path.join(dir, FLEET.includes(r.deployment) ? 'fleet.yaml' : `${r.deployment}.yaml`), prom.url);
    expect(compared.differences.slice(0, 1), `${compared.differences.length} of ${releases.length} releases differ; the first:`).toEqual([]);
    // The seeded histories exercise both endings, pages and their ladder.
    const rolledBack = releases.filter((r) => r.outcome === 'rolled-back').length;
    expect(rolledBack).toBeGreaterThan(0);
    expect(rolledBack).toBeLessThan(releases.length);
    expect([...compared.actions].sort()).toEqual(expect.arrayContaining(['page', 'promote', 'resolve', 'rollback']));
    expect(compared.evaluations).toBeGreaterThan(releases.length * 20);
    // The canary (app-1, compareTo app-0) was judged on windows of samples, live and replayed alike.
    expect([...compared.judged.keys()], JSON.stringify([...compared.judged])).toEqual(expect.arrayContaining(['pass', 'breach']));
  }, 600_000);
});

interface LiveRelease {
  id: number;
  deployment: string;
  started_at: string;
  outcome: string;
}

/**
 * Replays each of the daemon's releases with `replay --prometheus --from-log` (the built CLI) and compares the two
 * logs: decisions, evaluations, then the outcome and recovery verdict. Returns the first difference of each release
 * that differs, and how much was compared.
 */
async function replayEach(db: string, releases: readonly LiveRelease[], rulesOf: (r: LiveRelease) => string, prometheus: string) {
  const live = new Database(db, { readonly: true });
  const replayDb = path.join(path.dirname(db), 'replay.db');
  const compared = { differences: [] as string[], decisions: 0, evaluations: 0, actions: new Set<unknown>(), judged: new Map<unknown, number>() };
  try {
    for (const r of releases) {
      const run = await cliAsync(['replay', '--rules', rulesOf(r), '--prometheus', prometheus, '--from-log', db, '--release', String(r.id), '--db', replayDb, '--json']);
      expect(run.code, run.stderr).toBe(0);
      const replayed = JSON.parse(run.stdout) as { release: { id: number; outcome: string }; recovery?: { at: string; outcome: string | null } };
      const again = new Database(replayDb, { readonly: true });
      const where = `release ${r.id} (${r.deployment}, started ${r.started_at}, ${r.outcome})`;
      const decided = live.prepare(DECISIONS).all(r.id) as Row[];
      const evaluated = live.prepare(EVALUATIONS).all(r.id) as Row[];
      compared.decisions += decided.length;
      compared.evaluations += evaluated.length;
      for (const d of decided) compared.actions.add(d.action);
      for (const e of evaluated) if (e.rule === 'canary-judge') compared.judged.set(e.verdict, (compared.judged.get(e.verdict) ?? 0) + 1);
      const diff =
        firstDifference(`${where}: decisions`, decided, again.prepare(DECISIONS).all(replayed.release.id) as Row[]) ??
        firstDifference(`${where}: evaluations`, evaluated, again.prepare(EVALUATIONS).all(replayed.release.id) as Row[]) ??
        firstDifference(`${where}: outcome and recovery`, [recoveryOf(live, r.id, r.outcome)], [{ outcome: replayed.release.outcome, recovery: replayed.recovery?.outcome ?? null, recovery_at: replayed.recovery?.outcome ? Date.parse(replayed.recovery.at) : null }]);
      again.close();
      if (diff) compared.differences.push(diff);
    }
  } finally {
    live.close();
  }
  return compared;
}

function recoveryOf(log: Database.Database, releaseId: number, outcome: string): Row {
  const b = log.prepare(`SELECT recovery, recovery_at FROM rollbacks WHERE release_id = ? AND outcome = 'rolled-back'`).get(releaseId) as { recovery: string | null; recovery_at: string | null } | undefined;
  return { outcome, recovery: b?.recovery ?? null, recovery_at: b?.recovery_at ? Date.parse(b.recovery_at) : null };
}

describe('against a real Prometheus: a live-scraped exporter, a backfilled history, and an evaluation offset', () => {
  const RULES = `version: 1
target: { namespace: voice-production, deployment: voice-server }
interval: 1s
# Scrapes land every second: a query at t could miss the one just before t, which a later replay sees (3 s: margin for a loaded machine).
evaluationOffset: 3s
recovery: 30s
windows: { minor: 40s }
baselines:
  ttfa: { query: 'avg_over_time(voice_ttfa_p95_history_seconds[30m])' }
rules:
  - name: error-rate-critical
    tier: immediate
    query: 'sum(rate(voice_http_requests_total{status=~"5.."}[5s])) / sum(rate(voice_http_requests_total[5s]))'
    above: 0.05
    for: 2s
    when: { query: 'sum(rate(voice_http_requests_total[5s]))', above: 1 }
  - name: error-rate-sustained
    tier: considered
    query: 'sum(rate(voice_http_requests_total{status=~"5.."}[5s])) / sum(rate(voice_http_requests_total[5s]))'
    above: 0.01
    for: 2s
  - name: ttfa-regression
    tier: considered
    query: 'histogram_quantile(0.95, sum by (le) (rate(voice_ttfa_seconds_bucket[5s])))'
    above: { baseline: ttfa, factor: 2 }
    for: 2s
`;
  let exporter: VoiceExporter;
  let real: PrometheusServer;
  let cluster: KubeStandIn;
  let guard: DaemonProcess | undefined;

  beforeAll(async () => {
    // Half an hour of a pre-release P95 TTFA, backfilled with promtool: the baseline reads it at the release start.
    const now = Math.floor(Date.now() / 1000);
    const samples = Array.from({ length: 117 }, (_, i) => `voice_ttfa_p95_history_seconds ${(0.38 + (i % 5) * 0.01).toFixed(2)} ${now - 1800 + i * 15}`);
    exporter = await startVoiceExporter({ errorRatio: 0, requestsPerSecond: 1000 });
    real = await startPrometheus({ openMetrics: ['# TYPE voice_ttfa_p95_history_seconds gauge', ...samples, '# EOF', ''].join('\n'), scrapeTargets: [exporter.target], scrapeInterval: '1s' });
    await waitForSeries(real, 'sum(rate(voice_http_requests_total[5s]))');
    cluster = await new KubeStandIn().start();
  }, 60_000);
  afterAll(async () => {
    await guard?.stop('SIGKILL');
    await cluster?.stop();
    await disposePrometheus(real);
    await exporter?.close();
  });

  it('a release paged, then reverted, then recovered: replayed from the same Prometheus, the same rows', async () => {
    const d = tmp();
    const rules = path.join(d, 'rules.yaml');
    fs.writeFileSync(rules, RULES);
    const log = path.join(d, 'decisions.db');
    cluster.createDeployment('voice-production', 'voice-server', 'voice-server:1.4.1');
    guard = await startDaemon(['--rules', rules, '--prometheus', real.url, '--kube-server', cluster.url, '--db', log, '--interval', '1s', '--verify-timeout', '5s']);
    cluster.setImage('voice-production', 'voice-server', 'voice-server:1.5.0');
    await guard.waitForLog(/guarding release/);
    exporter.errorRatio = 0.02;
    await guard.waitForLog(/decision: page/, 45_000);
    exporter.errorRatio = 0.08;
    await guard.waitForLog(/decision: rollback/, 45_000);
    exporter.errorRatio = 0; // the version rolled back to is healthy
    await guard.waitForLog(/^recovery after the rollback: /, 60_000);
    await guard.stop('SIGTERM');
    guard = undefined;
    const live = new Database(log, { readonly: true });
    const releases = live.prepare(`SELECT id, deployment, started_at, outcome FROM releases WHERE outcome = 'rolled-back'`).all() as LiveRelease[];
    live.close();
    expect(releases).toHaveLength(1);
    const compared = await replayEach(log, releases, () => rules, real.url);
    expect(compared.differences).toEqual([]);
    expect([...compared.actions]).toEqual(['page', 'rollback']);
  }, 180_000);
});
