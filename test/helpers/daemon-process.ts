// Runs `rollback-guard run` (the built binary) as a child process and reads its JSON log lines.
import { spawn, type ChildProcess } from 'node:child_process';
import { freePort, waitFor } from './free-port.js';
import { imageRuntime } from './image-runtime.js';

export interface DaemonProcess {
  url: string;
  /** The spawned process: the daemon's node, or the wrapper (strace) that runs it. */
  child: ChildProcess;
  logs: Record<string, unknown>[];
  stderr: () => string;
  /** Waits for a log line whose msg matches. */
  waitForLog(msg: RegExp, timeoutMs?: number): Promise<Record<string, unknown>>;
  stop(signal?: NodeJS.Signals): Promise<number | null>;
}

/**
 * Started as the image starts it (its ENTRYPOINT's node flags and MALLOC_ARENA_MAX) unless `nodeArgs` says otherwise.
 * `wrapper` runs node under another command (`['strace', '-o', FILE, ...]`), in a process group of their own: stop()
 * signals the group, so the daemon gets the signal (strace -o FILE PROG blocks SIGTERM and SIGINT for itself, and
 * exits when its tracee does).
 */
export async function startDaemon(args: string[], env: NodeJS.ProcessEnv = {}, nodeArgs: string[] = imageRuntime().nodeArgs, wrapper: string[] = []): Promise<DaemonProcess> {
  const port = await freePort();
  const command = [...wrapper, process.execPath, ...nodeArgs, 'bin/rollback-guard.js', 'run', '--listen', `127.0.0.1:${port}`, ...args];
  const child = spawn(command[0]!, command.slice(1), {
    env: { ...process.env, LOG_LEVEL: 'debug', ...imageRuntime().env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: wrapper.length > 0,
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
  const failedToSpawn = new Promise<never>((_r, reject) =>
    child.once('error', (e: NodeJS.ErrnoException) =>
      reject(new Error(e.code === 'ENOENT' ? `${command[0]} not found: install it (Debian: apt-get install ${command[0]}; .ci/run does)` : `cannot start ${command[0]}: ${e.message}`)),
    ),
  );
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
      if (child.exitCode === null && child.signalCode === null) {
        if (wrapper.length) process.kill(-child.pid!, signal);
        else child.kill(signal);
      }
      return exited;
    },
  };
  await Promise.race([
    waitFor(`the daemon's /ready at ${url}`, async () => (await fetch(`${url}/ready`)).ok, 20_000, 50),
    exited.then((code) => {
      throw new Error(`rollback-guard run exited (${code}) before it was ready:\n${err}`);
    }),
    failedToSpawn,
  ]);
  return p;
}
