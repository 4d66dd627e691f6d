// A throwaway Prometheus for `rollback-guard test`: the test's series backfilled with promtool into a temporary
// TSDB, served on a free loopback port, stopped and removed afterwards. PromQL is then evaluated by Prometheus
// itself, not by a second engine (docs/adr/0017).
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { RollbackGuardError } from '../../errors/rollback-guard-error.js';

export class LocalPrometheusError extends RollbackGuardError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('RG_LOCAL_PROMETHEUS', message, options);
  }
}

function binary(name: 'prometheus' | 'promtool', env: NodeJS.ProcessEnv): string {
  const given = name === 'prometheus' ? env.PROMETHEUS_BIN : env.PROMTOOL_BIN;
  if (given) return given;
  // Looked up on PATH as a shell would (no shell at all: not found).
  const found = (spawnSync('sh', ['-c', `command -v ${name}`], { encoding: 'utf8' }).stdout ?? '').trim();
  if (!found) throw new LocalPrometheusError(`rule tests evaluate PromQL with a real Prometheus, and ${name} is not installed: install Prometheus (Debian: apt-get install prometheus) or set ${name === 'prometheus' ? 'PROMETHEUS_BIN' : 'PROMTOOL_BIN'}`);
  return found;
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer().once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as net.AddressInfo;
      s.close(() => resolve(port));
    });
  });
}

/** Runs `fn` with the URL of a Prometheus holding `openMetrics` (no sample later than now), then removes it all. */
export async function withBackfilledPrometheus<T>(openMetrics: string, fn: (url: string) => Promise<T>, env: NodeJS.ProcessEnv = process.env): Promise<T> {
  const prometheus = binary('prometheus', env);
  const promtool = binary('promtool', env);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rollback-guard-test-'));
  try {
    const data = path.join(dir, 'data');
    fs.mkdirSync(data);
    fs.writeFileSync(path.join(dir, 'series.om'), openMetrics);
    const blocks = spawnSync(promtool, ['tsdb', 'create-blocks-from', 'openmetrics', path.join(dir, 'series.om'), data], { encoding: 'utf8' });
    if (blocks.status !== 0) throw new LocalPrometheusError(`promtool could not load the test series: ${(blocks.stderr || blocks.stdout || String(blocks.error)).trim()}`);
    fs.writeFileSync(path.join(dir, 'prometheus.yml'), 'global: {}\n');
    const port = await freePort();
    const url = `http://127.0.0.1:${port}`;
    const child = spawn(prometheus, [`--config.file=${path.join(dir, 'prometheus.yml')}`, `--storage.tsdb.path=${data}`, `--web.listen-address=127.0.0.1:${port}`, '--storage.tsdb.retention.time=10y', '--log.level=error'], { stdio: ['ignore', 'ignore', 'pipe'] });
    let log = '';
    child.stderr.on('data', (b: Buffer) => (log = (log + b.toString()).slice(-2000)));
    const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
    try {
      const deadline = Date.now() + 20_000;
      for (;;) {
        if (child.exitCode !== null) throw new LocalPrometheusError(`prometheus exited (${child.exitCode}) before it was ready: ${log.trim()}`);
        try {
          if ((await fetch(`${url}/-/ready`)).ok) break;
        } catch {
          // not listening yet
        }
        if (Date.now() > deadline) throw new LocalPrometheusError(`prometheus was not ready within 20 s: ${log.trim()}`);
        await new Promise((r) => setTimeout(r, 50));
      }
      return await fn(url);
    } finally {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGTERM');
        await exited;
      }
    }
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}
