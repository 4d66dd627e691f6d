// `npm run bench`: replay of a synthetic 7-day recording (15 s steps) through the shipped rules.
// Reports figures; it asserts nothing (targets are read by people, not by CI).
//   - engine: rule-evaluations per second of the pure engine, data already in memory (target >= 1,000,000/s)
//   - replay: wall time of the built CLI over the whole week, with and without --db (target with --db < 3 s)
//   - peak RSS of those CLI runs
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { RecordingSource } from '../../src/adapters/recording/recording-source.js';
import { initialState, step, type Observation } from '../../src/core/engine.js';
import { bindRuleset } from '../../src/core/bind-ruleset.js';
import { parseRules } from '../../src/core/parse-rules.js';
import { synthesize } from '../fixtures/synthetic-voice-server.js';

const RULES = 'rules/voice-server.yaml';
// Bound for voice-server, as replay binds the shipped per-target rules (the recording names it).
const ruleset = bindRuleset(parseRules(fs.readFileSync(RULES, 'utf8'), RULES), { namespace: 'voice-production', deployment: 'voice-server' });
const DAY = 86_400;
const from = Date.parse('2026-11-01T00:00:00Z') / 1000;
const to = from + 7 * DAY;
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rollback-guard-bench-'));

function figure(name: string, value: string, target = ''): void {
  console.log(`${name.padEnd(44)} ${value.padStart(16)}${target ? `   (target ${target})` : ''}`);
}

// A healthy but noisy week, with a daily traffic swing, so rules move between states.
const base = { requestsPerSecond: 40, errorRatio: 0.004, sessionsPerSecond: 2, sessionFailureRatio: 0.003, ttfaP95Seconds: 0.45, memoryBytes: 310e6, podsUp: 6, noise: 0.4 };
const phases = Array.from({ length: 7 * 4 }, (_, i) => ({ ...base, at: from - 3600 + i * 6 * 3600, requestsPerSecond: i % 4 === 2 ? 8 : 40, errorRatio: i % 5 === 3 ? 0.012 : 0.004 }));
let t = performance.now();
const recording = synthesize({ ruleset, from, to, stepSeconds: 15, seed: 7, phases });
const recFile = path.join(dir, 'week.json');
fs.writeFileSync(recFile, JSON.stringify(recording));
figure('synthetic recording', `${(fs.statSync(recFile).size / 1e6).toFixed(1)} MB in ${((performance.now() - t) / 1000).toFixed(2)} s`);

// Engine alone: observations prepared up front, then only step() is timed.
const source = RecordingSource.fromFile(recFile);
const instants: { at: number; obs: Map<string, Observation> }[] = [];
for (let at = from * 1000; at <= to * 1000; at += 15_000) {
  const obs = new Map<string, Observation>();
  for (const r of ruleset.rules) {
    if (r.kind === 'judge' || r.kind === 'burn-rate') continue; // the shipped rules' threshold rules are what this measures
    const value = source.instantSync(r.query, at);
    obs.set(r.name, r.when ? { value, guard: source.instantSync(r.when.query, at) } : { value });
  }
  instants.push({ at, obs });
}
const baselines = Object.fromEntries(ruleset.baselines.map((b) => [b.name, { kind: 'value' as const, value: b.name === 'ttfa_p95' ? 0.45 : 310e6, labels: {} }]));
const ctx = { ruleset, release: { startedAt: from * 1000, severity: 'minor' as const, windowMs: 8 * DAY * 1000 }, baselines };
let evals = 0;
let decisions = 0;
const rounds = 5;
t = performance.now();
for (let round = 0; round < rounds; round++) {
  let state = initialState(ruleset);
  for (const { at, obs } of instants) {
    const r = step(ctx, state, at, obs);
    state = r.state;
    evals += r.evaluations.length;
    decisions += r.decisions.length;
  }
}
const engineS = (performance.now() - t) / 1000;
figure('engine rule-evaluations/s', Math.round(evals / engineS).toLocaleString('en-US'), '>= 1,000,000');
figure('  (evaluations, decisions per week)', `${evals / rounds}, ${decisions / rounds}`);

/** Runs the built CLI; returns wall seconds and peak RSS (VmHWM polled from /proc). */
async function timed(args: string[]): Promise<{ seconds: number; rssMb: number }> {
  const start = performance.now();
  const child = spawn(process.execPath, ['bin/rollback-guard.js', ...args], { stdio: ['ignore', 'ignore', 'inherit'] });
  let peak = 0;
  const poll = setInterval(() => {
    try {
      const m = /VmHWM:\s+(\d+) kB/.exec(fs.readFileSync(`/proc/${child.pid}/status`, 'utf8'));
      if (m) peak = Math.max(peak, Number(m[1]) / 1024);
    } catch {
      /* exited between polls */
    }
  }, 20);
  const code = await new Promise<number | null>((r) => child.on('close', r));
  clearInterval(poll);
  if (code !== 0) throw new Error(`replay exited ${code}`);
  return { seconds: (performance.now() - start) / 1000, rssMb: peak };
}

const common = ['replay', '--rules', RULES, '--recording', recFile, '--release-at', new Date(from * 1000).toISOString(), '--window', '8d', '--json'];
const noDb = await timed(common);
figure('7-day replay, no --db (wall)', `${noDb.seconds.toFixed(2)} s`);
figure('  peak RSS', `${noDb.rssMb.toFixed(0)} MB`);
const dbFile = path.join(dir, 'week.db');
const withDb = await timed([...common, '--db', dbFile]);
figure('7-day replay, --db (wall)', `${withDb.seconds.toFixed(2)} s`, '< 3 s');
figure('  peak RSS', `${withDb.rssMb.toFixed(0)} MB`);
figure('  decision log size', `${(fs.statSync(dbFile).size / 1e6).toFixed(1)} MB`);
fs.rmSync(dir, { recursive: true, force: true });
