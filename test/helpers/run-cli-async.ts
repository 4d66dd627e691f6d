import { spawn } from 'node:child_process';
import fs from 'node:fs';
import { BIN, type CliRun } from './run-cli.js';

/**
 * Runs the built CLI as a child process without blocking this process: for tests whose stand-in servers run
 * in-process (spawnSync would stop them from answering).
 */
export function cliAsync(args: string[], env: NodeJS.ProcessEnv = {}, nodeArgs: string[] = []): Promise<CliRun> {
  if (!fs.existsSync('dist/cli/main.js')) throw new Error('dist/ is missing: run `npm run build` (the test command does) before the CLI tests');
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [...nodeArgs, BIN, ...args], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...env }, timeout: 60_000 });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}
