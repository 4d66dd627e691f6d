// Runs the real kubectl against a stand-in API server, asynchronously (the stand-in answers from this process).
// kubectl must be on PATH (CI installs it: .ci/run) or named by KUBECTL_BIN; without it the test fails saying so.
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

export const KUBECTL = process.env.KUBECTL_BIN ?? 'kubectl';

/** kubectl's stdout for `args`, in `namespace`, against `server`; rejects with its stderr when it fails. */
export async function kubectl(server: string, namespace: string, args: string[]): Promise<string> {
  const cache = fs.mkdtempSync(path.join(os.tmpdir(), 'kubectl-cache-'));
  try {
    const r = await run(KUBECTL, ['--kubeconfig=/dev/null', `--server=${server}`, `--cache-dir=${cache}`, '--request-timeout=10s', '-n', namespace, ...args], { encoding: 'utf8' });
    return r.stdout;
  } catch (err) {
    const e = err as NodeJS.ErrnoException & { stderr?: string };
    throw new Error(e.code === 'ENOENT' ? `${KUBECTL} not found: install kubectl (Debian: apt-get install kubernetes-client; .ci/run does) or set KUBECTL_BIN` : `kubectl ${args.join(' ')} failed: ${e.stderr ?? e.message}`);
  } finally {
    fs.rmSync(cache, { recursive: true, force: true });
  }
}

/** The client's minor version (kubectl `events` exists from 1.26 on). */
export async function kubectlMinor(): Promise<number> {
  const r = await run(KUBECTL, ['version', '--client', '-o', 'json'], { encoding: 'utf8' });
  return Number((JSON.parse(r.stdout) as { clientVersion: { minor: string } }).clientVersion.minor.replace(/\D.*$/, ''));
}

/** The rows of the Events table `kubectl describe` prints: [type, reason, message] (columns cut where the header's are). */
export function describedEvents(describe: string): [string, string, string][] {
  const lines = (describe.split(/^Events:[^\n]*$/m)[1] ?? '').split('\n');
  const header = lines.find((l) => /^\s+Type\s+Reason\s+Age\s+From\s+Message/.test(l));
  if (!header) return [];
  const at = header.indexOf('Message');
  return lines
    .filter((l) => /^\s+(Normal|Warning)\s/.test(l))
    .map((l) => {
      const [type, reason] = l.trim().split(/\s+/) as [string, string];
      return [type, reason, l.slice(at).trim()];
    });
}
