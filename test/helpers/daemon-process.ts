// Runs `rollback-guard run` (the built binary) as a child process and reads its JSON log lines.
import { spawn, type ChildProcess } from 'node:child_process';
import { freePort, waitFor } from './free-port.js';
import { imageRuntime } from './image-runtime.js';

export interface DaemonProcess {
  url: string;
  child: ChildProcess;
  logs: Record<string, unknown>[];
  stderr: () => string;
  /** Waits for a log line whose msg matches. */
  waitForLog(msg: RegExp, timeoutMs?: number): Promise<Record<string, unknown>>;
  stop(signal?: NodeJS.Signals): Promise<number | null>;
}

/** Started as the image starts it (its ENTRYPOINT's node flags and MALLOC_ARENA_MAX) unless `nodeArgs` says otherwise. */
export async function startDaemon(args: string[], env: NodeJS.ProcessEnv = {}, nodeArgs: string[] = imageRuntime().nodeArgs): Promise<DaemonProcess> {
  const port = await freePort();
  const child = spawn(process.execPath, [...nodeArgs, 'bin/rollback-guard.js', 'run', '--listen', `127.0.0.1:${port}`, ...args], {
    env: { ...process.env, LOG_LEVEL: 'debug', ...imageRuntime().env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const logs: Record<string, unknown>[] = [];
  let err = '';
  let buf = '';
  child.stdout.on('data', (b: Buffer) => {
    buf += b.toString();
    let i;
    while ((i = buf.indexOf('\n')) >= 0) {
      const line = buf.slice(0, i);
      buf = buf.slice(i + 1);
      try {
        logs.push(JSON.parse(line) as Record<string, unknown>);
      } catch {
        logs.push({ msg: line });
      }
    }
  });
  child.stderr.on('data', (b: Buffer) => (err += b.toString()));
  const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
  const url = `http://127.0.0.1:${port}`;
  const p: DaemonProcess = {
    url,
    child,
    logs,
    stderr: () => err,
    async waitForLog(msg, timeoutMs = 20_000) {
      await waitFor(`a log line matching ${msg}`, () => logs.some((l) => msg.test(String(l.msg))), timeoutMs, 50);
      return logs.find((l) => msg.test(String(l.msg)))!;
    },
    async stop(signal = 'SIGTERM') {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      return exited;
    },
  };
  await Promise.race([
    waitFor(`the daemon's /ready at ${url}`, async () => (await fetch(`${url}/ready`)).ok, 20_000, 50),
    exited.then((code) => {
      throw new Error(`rollback-guard run exited (${code}) before it was ready:\n${err}`);
    }),
  ]);
  return p;
}
