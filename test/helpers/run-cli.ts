import { spawnSync } from 'node:child_process';
import fs from 'node:fs';

export const BIN = 'bin/rollback-guard.js';

export interface CliRun {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs the built CLI as a child process (plain Node ESM, as users run it). */
export function cli(...args: string[]): CliRun {
  if (!fs.existsSync('dist/cli/main.js')) throw new Error('dist/ is missing: run `npm run build` (the test command does) before the CLI tests');
  const r = spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: 60_000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}
