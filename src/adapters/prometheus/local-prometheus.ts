// A throwaway Prometheus for `rollback-guard test`: an empty TSDB in a temporary directory, on a free loopback port,
// the test's series written to it through its remote-write receiver (staleness markers included), then stopped and
// removed. PromQL is evaluated by Prometheus itself, not by a second engine (docs/adr/0017).
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { RollbackGuardError } from '../../errors/rollback-guard-error.js';
import { remoteWrite, type WriteSeries } from './remote-write.js';

export class LocalPrometheusError extends RollbackGuardError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('RG_LOCAL_PROMETHEUS', message, options);
  }
}

function prometheusBinary(env: NodeJS.ProcessEnv): string {
  if (env.PROMETHEUS_BIN) return env.PROMETHEUS_BIN;
  // Looked up on PATH as a shell would (no shell at all: not found).
  const found = (spawnSync('sh', ['-c', 'command -v prometheus'], { encoding: 'utf8' }).stdout ?? '').trim();
  if (!found) throw new LocalPrometheusError('rule tests evaluate PromQL with a real Prometheus, and prometheus is not installed: install Prometheus 2.33 or later (Debian: apt-get install prometheus) or set PROMETHEUS_BIN');
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

/** Runs `fn` with the URL of a Prometheus holding `series`, then removes it all. */
export async function withTestPrometheus<T>(series: readonly WriteSeries[], fn: (url: string) => Promise<T>, env: NodeJS.ProcessEnv = process.env): Promise<T> {
  const prometheus = prometheusBinary(env);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rollback-guard-test-'));
  try {
    const data = path.join(dir, 'data');
    fs.mkdirSync(data);
    fs.writeFileSync(path.join(dir, 'prometheus.yml'), 'global: {}\n');
    const port = await freePort();
    const url = `http://127.0.0.1:${port}`;
    const child = spawn(prometheus, [`--config.file=${path.join(dir, 'prometheus.yml')}`, `--storage.tsdb.path=${data}`, `--web.listen-address=127.0.0.1:${port}`, '--storage.tsdb.retention.time=10y', '--web.enable-remote-write-receiver', '--log.level=error'], { stdio: ['ignore', 'ignore', 'pipe'] });
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
      try {
        await remoteWrite(url, series);
      } catch (err) {
        throw new LocalPrometheusError(`${(err as Error).message} (a Prometheus older than 2.33 has no remote-write receiver)`, { cause: err });
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
