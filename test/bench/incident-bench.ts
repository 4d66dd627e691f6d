// `npm run bench` (second part): the incident tools on a 30-day decision log with millions of evaluation rows.
// Reports figures; it asserts nothing (targets are read by people, not by CI).
//   - log:    time of the command listing every release (target < 200 ms), and of a filtered list
//   - report: time of the command writing the HTML of a full-window release (target < 2 s)
// Each is measured in-process (the built CLI's main(), imported once: the query and rendering cost) and as the
// wall time of the built CLI, which adds Node's and the CLI's start-up (shown alone as `--version`).
//   - prune:  pruneEvaluations of everything older than 15 days, in batches of 5,000
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { parseRules } from '../../src/core/parse-rules.js';
import { pruneEvaluations } from '../../src/adapters/sqlite/prune-evaluations.js';
import { MINUTE, writeSyntheticLog, type SyntheticRelease } from '../helpers/synthetic-decision-log.js';

const DAY = 86_400_000;
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rollback-guard-incident-bench-'));
const file = path.join(dir, 'month.db');

function figure(name: string, value: string, target = ''): void {
  console.log(`${name.padEnd(64)} ${value.padStart(12)}${target ? `   (target ${target})` : ''}`);
}

// Nine rules, like the shipped file: eight static thresholds and one against a baseline.
const names = ['error-rate', 'sessions', 'ttfa', 'outage', 'error-sustained', 'memory', 'session-failures', 'slo'];
const ruleset = parseRules(
  `version: 1\ntarget: { namespace: voice, deployment: app }\nbaselines:\n  latency: { query: 'base' }\nrules:\n` +
    names.map((n) => `  - { name: ${n}, tier: ${n === 'error-rate' ? 'immediate' : 'considered'}, query: '${n}', above: 0.05, for: 2m }\n`).join('') +
    `  - { name: latency, tier: considered, query: 'latency', above: { baseline: latency, factor: 1.5 }, for: 2m }\n`,
  'bench.yaml',
);

// A release every 6 hours for 30 days, each guarded for its 6-hour window at 15 s: 120 x 1,440 x 9 evaluations.
// Every 7th pages on latency (and escalates), every 10th rolls back on the error rate.
const start = Math.floor((Date.now() - 30 * DAY) / DAY) * DAY;
const releases: SyntheticRelease[] = Array.from({ length: 120 }, (_, i) => ({
  startedAt: start + i * 6 * 3_600_000,
  ruleset,
  windowMs: 6 * 3_600_000,
  untilMs: 6 * 3_600_000,
  value: (rule, t) => {
    const wave = 0.01 + 0.01 * Math.sin(t / 600_000 + i);
    if (rule === 'latency') return i % 7 === 0 && t > 20 * MINUTE && t < 80 * MINUTE ? 0.9 : 0.4;
    if (rule === 'error-rate' && i % 10 === 0 && t > 3 * 3_600_000) return 0.2;
    return wave;
  },
}));
let t = performance.now();
const written = writeSyntheticLog(file, releases, { batchInstants: 500 });
figure('30-day decision log', `${(written.evaluations / 1e6).toFixed(2)} M evaluations, ${written.decisions.length} decisions, ${(fs.statSync(file).size / 1e6).toFixed(0)} MB in ${((performance.now() - t) / 1000).toFixed(1)} s`);

function wall(args: string[]): number {
  const runs: number[] = [];
  for (let i = 0; i < 5; i++) {
    const t0 = performance.now();
    const r = spawnSync(process.execPath, ['bin/rollback-guard.js', ...args], { encoding: 'utf8' });
    runs.push(performance.now() - t0);
    if (r.status !== 0) throw new Error(`rollback-guard ${args.join(' ')} failed: ${r.stderr}`);
  }
  return runs.sort((a, b) => a - b)[2]!; // median of 5
}

// The built CLI, in-process: what the command itself costs once Node and the CLI are loaded.
const { main } = (await import(path.resolve('dist/cli/main.js'))) as { main: (argv: string[], io: { out(l: string): void; err(l: string): void; exitCode: number }) => Promise<number> };
async function inProcess(args: string[]): Promise<number> {
  const runs: number[] = [];
  for (let i = 0; i < 5; i++) {
    const t0 = performance.now();
    const code = await main(['node', 'rollback-guard', ...args], { out: () => {}, err: () => {}, exitCode: 0 });
    runs.push(performance.now() - t0);
    if (code !== 0) throw new Error(`rollback-guard ${args.join(' ')} exited ${code}`);
  }
  return runs.sort((a, b) => a - b)[2]!; // median of 5
}

const largest = 1 + releases.findIndex((_, i) => i % 7 === 0 && i % 10 !== 0); // a full-window release with a page
const out = path.join(dir, 'report.html');
const cases: [string, string[], string][] = [
  ['log, all 120 releases', ['log', '--db', file], '< 200 ms'],
  ['log --since 3d --action page', ['log', '--db', file, '--since', '3d', '--action', 'page'], '< 200 ms'],
  [`report --release ${largest} (${1440 * 9} evaluations)`, ['report', '--db', file, '--release', String(largest), '--out', out], '< 2 s'],
];
for (const [name, args, target] of cases) figure(`${name} (in-process, median of 5)`, `${(await inProcess(args)).toFixed(0)} ms`, target);
figure('CLI start-up alone: --version (median of 5)', `${wall(['--version']).toFixed(0)} ms`);
for (const [name, args] of cases) figure(`${name} (CLI wall, median of 5)`, `${wall(args).toFixed(0)} ms`);
figure('report size', `${(fs.statSync(out).size / 1024).toFixed(0)} KB`);

const db = new Database(file);
t = performance.now();
let last = t;
let longest = 0;
const pruned = pruneEvaluations(db, 15 * DAY, 5000, {
  onBatch: () => {
    const now = performance.now();
    longest = Math.max(longest, now - last);
    last = now;
  },
});
figure('prune older than 15d (batches of 5,000)', `${(pruned.deleted / 1e6).toFixed(2)} M rows in ${((performance.now() - t) / 1000).toFixed(1)} s`);
figure('  longest batch (a writer waits at most this)', `${longest.toFixed(0)} ms`);
db.close();
fs.rmSync(dir, { recursive: true, force: true });
