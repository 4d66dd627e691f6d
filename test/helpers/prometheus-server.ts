// Starts the real Prometheus binary (Debian's `prometheus`, or $PROMETHEUS_BIN) on a free loopback port with a
// temporary TSDB, optionally backfilled from OpenMetrics text with promtool, optionally scraping targets.
// A missing binary is an error, never a skip: CI installs it (.ci/run).
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { freePort, waitFor } from './free-port.js';

export interface PrometheusServer {
  url: string;
  port: number;
  dir: string;
  /** SIGTERM and wait for exit. Safe to call twice. */
  stop(): Promise<void>;
  /** Start it again on the same port and TSDB (after stop). */
  restart(): Promise<void>;
}

export interface PrometheusOptions {
  /** OpenMetrics text to backfill before start (must end with `# EOF`, no sample later than now). */
  openMetrics?: string;
  /** host:port targets scraped as job "voice-server". */
  scrapeTargets?: string[];
  /** Labels added to one scrape target's series (its own static_configs group), e.g. { deployment: 'voice-server-canary' }. */
  targetLabels?: Record<string, Record<string, string>>;
  scrapeInterval?: string;
  evaluationInterval?: string;
  /** Prometheus alerting/recording rule files (YAML text). */
  ruleFiles?: string[];
}

export function binary(name: 'prometheus' | 'promtool'): string {
  const env = name === 'prometheus' ? process.env.PROMETHEUS_BIN : process.env.PROMTOOL_BIN;
  if (env) return env;
  const found = spawnSync('sh', ['-c', `command -v ${name}`], { encoding: 'utf8' }).stdout.trim();
  if (!found) {
    throw new Error(`${name} is not installed: apt-get install -y --no-install-recommends prometheus (or set ${name === 'prometheus' ? 'PROMETHEUS_BIN' : 'PROMTOOL_BIN'}); .ci/run installs it`);
  }
  return found;
}

export async function startPrometheus(o: PrometheusOptions = {}): Promise<PrometheusServer> {
  const prom = binary('prometheus');
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rollback-guard-prom-'));
  const data = path.join(dir, 'data');
  fs.mkdirSync(data);
  if (o.openMetrics !== undefined) {
    const file = path.join(dir, 'backfill.om');
    fs.writeFileSync(file, o.openMetrics);
    const r = spawnSync(binary('promtool'), ['tsdb', 'create-blocks-from', 'openmetrics', file, data], { encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`promtool backfill failed: ${r.stderr || r.stdout}`);
  }
  const ruleFiles = (o.ruleFiles ?? []).map((text, i) => {
    const f = path.join(dir, `rules-${i}.yml`);
    fs.writeFileSync(f, text);
    return f;
  });
  const config = [
    'global:',
    `  scrape_interval: ${o.scrapeInterval ?? '1s'}`,
    `  evaluation_interval: ${o.evaluationInterval ?? '1s'}`,
    ...(ruleFiles.length ? ['rule_files:', ...ruleFiles.map((f) => `  - ${f}`)] : []),
    ...(o.scrapeTargets?.length
      ? [
          'scrape_configs:',
          '  - job_name: voice-server',
          '    static_configs:',
          ...o.scrapeTargets.flatMap((t) => {
            const labels = o.targetLabels?.[t];
            return [`      - targets: ['${t}']`, ...(labels ? [`        labels: { ${Object.entries(labels).map(([k, v]) => `${k}: '${v}'`).join(', ')} }`] : [])];
          }),
        ]
      : []),
  ].join('\n');
  const configFile = path.join(dir, 'prometheus.yml');
  fs.writeFileSync(configFile, config + '\n');
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  let child: ChildProcess | undefined;
  let log = '';

  const start = async () => {
    child = spawn(prom, [
      `--config.file=${configFile}`,
      `--storage.tsdb.path=${data}`,
      `--web.listen-address=127.0.0.1:${port}`,
      '--storage.tsdb.retention.time=10y',
      '--web.enable-lifecycle',
      '--log.level=warn',
    ], { stdio: ['ignore', 'ignore', 'pipe'] });
    child.stderr?.on('data', (b: Buffer) => (log = (log + b.toString()).slice(-4000)));
    const exited = new Promise<never>((_, reject) => child?.once('exit', (code) => reject(new Error(`prometheus exited (${code}) before it was ready:\n${log}`))));
    await Promise.race([waitFor(`Prometheus ready at ${url}`, async () => (await fetch(`${url}/-/ready`)).ok, 20_000, 50), exited]);
  };
  const stop = async () => {
    const c = child;
    child = undefined;
    if (!c || c.exitCode !== null || c.signalCode !== null) return;
    const gone = new Promise((r) => c.once('exit', r));
    c.kill('SIGTERM');
    await gone;
  };
  await start();
  return {
    url,
    port,
    dir,
    stop: async () => {
      await stop();
    },
    restart: start,
  };
}

/** Stops the server and removes its directory. */
export async function disposePrometheus(p: PrometheusServer | undefined): Promise<void> {
  if (!p) return;
  await p.stop();
  fs.rmSync(p.dir, { recursive: true, force: true });
}

/**
 * Waits until `query` returns `series` series (default: at least one): the first samples of a scraped target arrive
 * a few seconds after Prometheus starts, and a rate needs two.
 */
export async function waitForSeries(prom: PrometheusServer, query: string, series?: number): Promise<void> {
  await waitFor(`${query} to return ${series ?? 'a'} series`, async () => {
    const r = (await (await fetch(`${prom.url}/api/v1/query?query=${encodeURIComponent(query)}`)).json()) as { data: { result: unknown[] } };
    return series === undefined ? r.data.result.length > 0 : r.data.result.length === series;
  }, 30_000, 250);
}
