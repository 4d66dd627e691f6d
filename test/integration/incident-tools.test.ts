// log, explain, report and prune through the built CLI, on a replayed example and on synthetic logs written by
// the real engine and store. Structural comparisons: rows, columns, fields, never whole outputs.
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { beforeAll, describe, expect, it, vi } from 'vitest';
import { pruneEvaluations } from '../../src/adapters/sqlite/prune-evaluations.js';
import { SCHEMA_VERSION } from '../../src/adapters/sqlite/sqlite-decision-store.js';
import { cli } from '../helpers/run-cli.js';
import { cliAsync } from '../helpers/run-cli-async.js';
import { MINUTE, writeIncidentLog, type SyntheticLog } from '../helpers/synthetic-decision-log.js';

// Each test runs the built CLI several times (about 1 s each on a busy 2-core machine).
vi.setConfig({ testTimeout: 120_000, hookTimeout: 120_000 });

const DAY = 86_400_000;
const dir = fs.mkdtempSync(path.join(fs.realpathSync(process.env.TMPDIR ?? '/tmp'), 'rollback-guard-incident-'));
const now = Math.floor(Date.now() / MINUTE) * MINUTE;
const T2 = now - 20 * DAY;
const T3 = now - 2 * DAY;

const sha = (file: string) => crypto.createHash('sha256').update(fs.readFileSync(file)).digest('hex');
const json = <T>(text: string) => JSON.parse(text) as T;

let synthetic: string;
let plain: string;
let example: string;
let log: SyntheticLog;

beforeAll(() => {
  synthetic = path.join(dir, 'synthetic.db');
  log = writeIncidentLog(synthetic, now, { optionalTables: true });
  plain = path.join(dir, 'plain.db');
  writeIncidentLog(plain, now);
  example = path.join(dir, 'example.db');
  const r = cli('replay', '--rules', 'rules/voice-server.yaml', '--recording', 'examples/bad-release/recording.json', '--release-at', '2026-11-20T14:00:00Z', '--db', example);
  expect(r.code, r.stderr).toBe(0);
});

interface LogRecord {
  id: number;
  target: string;
  outcome: string | null;
  detectedAt: string | null;
  timeToDetectSeconds: number | null;
  rollbackCompleteAt: string | null;
  timeToRecoverSeconds: number | null;
  decisions: { id: number; action: string; rule: string | null; level: number | null }[];
}

describe('rollback-guard log', () => {
  it('lists the replayed example: one rolled-back release marked as a replay, detected by the page, nothing to recover', () => {
    const r = cli('log', '--db', example);
    expect(r.code, r.stderr).toBe(0);
    const lines = r.stdout.trimEnd().split('\n');
    expect(lines[0]!.split(/\s{2,}/)).toEqual(['RELEASE', 'STARTED', 'TARGET', 'SEVERITY', 'OUTCOME', 'DETECTED', 'TO DETECT', 'TO RECOVER', 'DECISIONS']);
    expect(lines).toHaveLength(2);
    const readme = fs.readFileSync('README.md', 'utf8');
    expect(readme, 'the README shows what log prints on the example').toContain(r.stdout.trimEnd().replace(/^/gm, '  '));
    expect(lines[1]).toMatch(/^#1 +2026-11-20T14:00:00Z +voice-production\/voice-server +minor +rolled-back \(replay\) +2026-11-20T14:28:15Z +28m15s +- +#1 page ttfa-regression, #2 rollback error-rate-critical$/);
  });

  it('a replay that ran out of data before an outcome reads as such in log, explain and report, never as being guarded', () => {
    const db = path.join(dir, 'short-replay.db');
    const replayed = cli('replay', '--rules', 'rules/voice-server.yaml', '--recording', 'examples/bad-release/recording.json', '--release-at', '2026-11-20T14:00:00Z', '--until', '2026-11-20T14:30:00Z', '--db', db);
    expect(replayed.code, replayed.stderr).toBe(0);
    expect(cli('log', '--db', db).stdout).toMatch(/ minor +no outcome \(recorded data ended\) \(replay\) +2026-11-20T14:28:15Z/);
    expect(cli('explain', '1', '--db', db).stdout).toContain('outcome no outcome (recorded data ended) (replay)');
    const out = path.join(dir, 'short-replay.html');
    expect(cli('report', '--release', '1', '--db', db, '--out', out).code).toBe(0);
    const html = fs.readFileSync(out, 'utf8');
    expect(html).toContain('Replayed release #1 of voice-production/voice-server (minor, started 2026-11-20T14:00:00Z) reached no outcome before the recorded data ended');
    expect(html).not.toMatch(/still guarded|>guarding</);
  });

  it('puts the newest release first, with time to detect and, from the rollbacks table, time to recover', () => {
    const recs = json<LogRecord[]>(cli('log', '--db', synthetic, '--json').stdout);
    expect(recs.map((x) => x.id)).toEqual([3, 2, 1]);
    const [healthy, rolledBack, paged] = recs;
    expect(healthy).toMatchObject({ target: 'other/app2', outcome: 'promoted', detectedAt: null, timeToDetectSeconds: null });
    // error-rate breaches from +3m and holds 1m: rollback at +4m; the rollback was verified 2m later
    expect(rolledBack).toMatchObject({ outcome: 'rolled-back', timeToDetectSeconds: 240, timeToRecoverSeconds: 120 });
    // latency breaches from +5m and holds 2m: page at +7m, level 2 at +22m, resolved at +30m, promoted at the window end
    expect(paged!.timeToDetectSeconds).toBe(420);
    expect(paged!.decisions.map((d) => [d.action, d.level])).toEqual([['page', 1], ['escalate', 2], ['resolve', 2], ['promote', null]]);
    const table = cli('log', '--db', synthetic).stdout.trimEnd().split('\n');
    const starts = table.slice(1).map((l) => l.split(/\s{2,}/)[1]!);
    expect([...starts].sort().reverse()).toEqual(starts);
    expect(table[2]!.split(/\s{2,}/).slice(6, 8)).toEqual(['4m', '2m']);
  });

  it('filters by release, target, action and time, and writes CSV', () => {
    const ids = (...args: string[]) => json<LogRecord[]>(cli('log', '--db', synthetic, '--json', ...args).stdout).map((x) => x.id);
    expect(ids('--release', '2')).toEqual([2]);
    expect(ids('--target', 'other/app2')).toEqual([3]);
    expect(ids('--action', 'page,rollback')).toEqual([2, 1]);
    expect(ids('--action', 'escalate')).toEqual([1]);
    expect(ids('--since', '3d')).toEqual([3]);
    expect(ids('--from', new Date(T2 - DAY).toISOString(), '--to', new Date(T3 - DAY).toISOString())).toEqual([2]);
    const withAction = json<LogRecord[]>(cli('log', '--db', synthetic, '--json', '--action', 'escalate').stdout);
    expect(withAction[0]!.decisions.map((d) => d.action)).toEqual(['escalate']);
    const csv = cli('log', '--db', synthetic, '--csv').stdout.trimEnd().split('\n');
    expect(csv[0]).toBe('release,started_at,target,severity,outcome,detected_at,time_to_detect_s,rollback_complete_at,time_to_recover_s,decisions');
    expect(csv.slice(1).map((l) => l.split(',')[0])).toEqual(['3', '2', '1']);
    expect(csv[2]!.split(',')[8]).toBe('120');
  });
});

describe('rollback-guard explain', () => {
  it('explains the example rollback: rule as stored, the values over its hold, threshold and series', () => {
    const r = cli('explain', '2', '--db', example, '--json');
    expect(r.code, r.stderr).toBe(0);
    const x = json<{ decision: { action: string; rule: string }; evidence: Record<string, unknown>; rule: { text: Record<string, unknown> }; values: { verdict: string; state: string; threshold: number }[] }>(r.stdout);
    expect(x.decision).toMatchObject({ action: 'rollback', rule: 'error-rate-critical' });
    expect(x.evidence).toMatchObject({ breachingSince: '2026-11-20T14:32:45Z', forMs: 60_000, comparison: 'above', threshold: 0.05 });
    expect(x.rule.text).toMatchObject({ name: 'error-rate-critical', tier: 'immediate', above: 0.05, for: '1m' });
    // a minute of passes before the breach, then 1m of breaches at 15s: pending x4, firing at the decision
    const breaches = x.values.filter((v) => v.verdict === 'breach');
    expect(breaches.map((v) => v.state)).toEqual(['pending', 'pending', 'pending', 'pending', 'firing']);
    expect(x.values[0]!.verdict).toBe('pass');
    expect(new Set(x.values.map((v) => v.threshold))).toEqual(new Set([0.05]));
    const text = cli('explain', '1', '--db', example).stdout;
    expect(text).toMatch(/^Decision #1: PAGE by rule ttfa-regression \(level 1\)/);
    expect(text).toMatch(/baseline +ttfa_p95 = 0\.4497 x 1\.5 = 0\.6746/);
  });

  it('shows the rule as it was when it fired, though a later release used other rules', () => {
    const rollback = log.decisions.find((d) => d.action === 'rollback')!;
    const x = json<{ rule: { text: { above: number }; file: string } }>(cli('explain', String(rollback.id), '--db', synthetic, '--json').stdout);
    expect(x.rule).toMatchObject({ file: 'rules-0.05.yaml', text: { above: 0.05 } });
    const db = new Database(synthetic, { readonly: true });
    expect(db.prepare('SELECT count(*) FROM rules_files').pluck().get()).toBe(2);
    db.close();
  });

  it('shows the rollback, notifications and approvals when those tables exist, and omits them when not', () => {
    const rollback = log.decisions.find((d) => d.action === 'rollback')!;
    const page = log.decisions.find((d) => d.action === 'page')!;
    const rb = cli('explain', String(rollback.id), '--db', synthetic).stdout;
    expect(rb).toMatch(/Rollback:\n {2}rolled-back: revision 7 -> 6, rollback-complete at \S+, by rollback-guard/);
    const pg = json<{ notifications: { channel: string }[]; approvals: { by: string }[] }>(cli('explain', String(page.id), '--db', synthetic, '--json').stdout);
    expect(pg.notifications.map((n) => n.channel)).toEqual(['slack', 'pagerduty']);
    expect(pg.approvals.map((a) => a.by)).toEqual(['alice@example.com']);
    // an escalation 15 min after the page: the hold's values are capped at the last 60, and say so
    const escalate = log.decisions.find((d) => d.action === 'escalate')!;
    const esc = json<{ values: { verdict: string }[]; valuesOmitted: number }>(cli('explain', String(escalate.id), '--db', synthetic, '--json').stdout);
    expect(esc.values).toHaveLength(60);
    expect(esc.valuesOmitted).toBeGreaterThan(0);
    expect(cli('explain', String(escalate.id), '--db', synthetic).stdout).toMatch(/\(last 60; \d+ earlier not shown\)/);
    const without = cli('explain', String(page.id), '--db', plain);
    expect(without.code).toBe(0);
    expect(without.stdout).not.toMatch(/Notifications|Approvals|Rollback:/);
  });
});

describe('refusals: one sentence, exit 2, the file untouched', () => {
  it.each([
    ['a missing file', (d: string) => path.join(d, 'missing.db'), /does not exist; give the file that replay or the daemon wrote with --db \(or ROLLBACK_GUARD_DB\)/],
    ['a directory', (d: string) => d, /is a directory; give the decision log file in it/],
    ['a file that is not SQLite', () => 'README.md', /is not a SQLite database/],
    ['a SQLite file that is not a decision log', (d: string) => { const f = path.join(d, 'other.db'); const db = new Database(f); db.exec('CREATE TABLE t (x)'); db.close(); return f; }, /is not a rollback-guard decision log/],
    ['a newer schema version', (d: string) => { const f = path.join(d, 'newer.db'); fs.copyFileSync(plain, f); const db = new Database(f); db.pragma(`user_version = ${SCHEMA_VERSION + 1}`); db.close(); return f; }, /newer than this rollback-guard knows/],
  ])('%s', (_name, make, message) => {
    const d = fs.mkdtempSync(path.join(dir, 'refuse-'));
    const file = make(d);
    for (const args of [['log'], ['explain', '1'], ['report', '--release', '1'], ['prune']]) {
      const r = cli(...args, '--db', file);
      expect(r.code, args.join(' ')).toBe(2);
      expect(r.stderr.trimEnd().split('\n'), args.join(' ')).toHaveLength(1);
      expect(r.stderr).toMatch(message);
    }
  });

  it('without --db, the daemon\'s ROLLBACK_GUARD_DB (kubectl exec into the pod reads its log)', async () => {
    const withEnv = await cliAsync(['log'], { ROLLBACK_GUARD_DB: example });
    expect(withEnv.code, withEnv.stderr).toBe(0);
    expect(withEnv.stdout).toBe(cli('log', '--db', example).stdout);
  });

  it('an unknown decision or release id, and bad options', () => {
    for (const [args, message] of [
      [['explain', '999'], /decision 999 is not in .* \(its decisions are #1 to #6\)/],
      [['explain', 'abc'], /not a positive integer/],
      [['report', '--release', '9'], /release 9 is not in/],
      [['log', '--release', '9'], /release 9 is not in .*; list the releases with `rollback-guard log/],
      [['log', '--action', 'reboot'], /reboot is not an action/],
      [['report', '--release', '1', '--out', '/nonexistent-dir/r.html'], /cannot write the report to \/nonexistent-dir\/r\.html: its directory \/nonexistent-dir does not exist$/m],
      [['log', '--target', 'nope'], /not NAMESPACE\/NAME/],
      [['log', '--since', '2h', '--from', '2026-11-01T00:00:00Z'], /either --since or --from/],
    ] as const) {
      const r = cli(...args, '--db', synthetic);
      expect(r.code, args.join(' ')).toBe(2);
      expect(r.stderr, args.join(' ')).toMatch(message);
    }
  });

  it('reading commands never modify the log', () => {
    const before = sha(synthetic);
    cli('log', '--db', synthetic);
    cli('explain', '1', '--db', synthetic);
    cli('report', '--release', '1', '--db', synthetic, '--out', path.join(dir, 'r.html'));
    expect(sha(synthetic)).toBe(before);
  });
});

describe('rollback-guard report', () => {
  it('writes one self-contained HTML file: inline CSS and SVG, dark and print styles, a chart per rule', () => {
    const out = path.join(dir, 'example.html');
    const r = cli('report', '--release', '1', '--db', example, '--out', out);
    expect(r.code, r.stderr).toBe(0);
    const html = fs.readFileSync(out, 'utf8');
    expect(html).not.toMatch(/<script|<link|\bsrc=|url\(|@import|https?:\/\/(?!www\.w3\.org\/2000\/svg)/);
    expect(html).toMatch(/@media print/);
    expect(html).toMatch(/prefers-color-scheme: dark/);
    expect(html.match(/<section class="rule"/g)).toHaveLength(11);
    expect(html).toMatch(/was rolled back when error-rate-critical fired at 2026-11-20T14:33:45Z, after 1 page; trouble was detected 28m15s after the release and the rollback completion was not recorded\./);
    expect(cli('report', '--release', '1', '--db', example).stdout).toMatch(/^<!doctype html>/);
  });
});

describe('retention', () => {
  it('pruneEvaluations deletes old evaluations in bounded batches and keeps releases and decisions', () => {
    const file = path.join(dir, 'prune.db');
    const written = writeIncidentLog(file, now);
    const db = new Database(file);
    const count = (sql: string) => db.prepare(sql).pluck().get() as number;
    const r1 = count('SELECT count(*) FROM evaluations WHERE release_id = 1');
    const decisions = count('SELECT count(*) FROM decisions');
    const res = pruneEvaluations(db, 30 * DAY, 100, { now });
    expect(res.deleted).toBe(r1);
    expect(res.batches).toBe(Math.ceil(r1 / 100));
    expect(count('SELECT count(*) FROM evaluations WHERE release_id = 1')).toBe(0);
    expect(count('SELECT count(*) FROM evaluations')).toBe(written.evaluations - r1);
    expect(count('SELECT count(*) FROM decisions')).toBe(decisions);
    expect(count('SELECT count(*) FROM releases')).toBe(3);
    // a caller (the daemon) can stop between batches
    expect(pruneEvaluations(db, 10 * DAY, 10, { now, onBatch: () => false })).toMatchObject({ deleted: 10, batches: 1 });
    db.close();
  });

  it('rollback-guard prune: default 30d, then --older-than; explain still works on a pruned release', () => {
    const file = path.join(dir, 'prune-cli.db');
    const written = writeIncidentLog(file, now);
    const first = cli('prune', '--db', file);
    expect(first.code, first.stderr).toBe(0);
    const n1 = Number(/^pruned (\d+) evaluations/.exec(first.stdout)![1]);
    expect(n1).toBeGreaterThan(0);
    const second = cli('prune', '--db', file, '--older-than', '10d', '--batch', '1000');
    const n2 = Number(/^pruned (\d+) evaluations/.exec(second.stdout)![1]);
    const db = new Database(file, { readonly: true });
    expect(db.prepare('SELECT DISTINCT release_id FROM evaluations').pluck().all()).toEqual([3]);
    expect(db.prepare('SELECT count(*) FROM evaluations').pluck().get()).toBe(written.evaluations - n1 - n2);
    db.close();
    const x = cli('explain', '1', '--db', file);
    expect(x.code).toBe(0);
    expect(x.stdout).toMatch(/Rule as it was when it fired/);
    expect(cli('prune', '--db', file, '--older-than', 'soon').code).toBe(2);
  });
});
