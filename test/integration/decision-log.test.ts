import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { openDecisionLog, SCHEMA_VERSION } from '../../src/adapters/sqlite/sqlite-decision-store.js';
import { parseRules } from '../../src/core/parse-rules.js';
import { DecisionLogError } from '../../src/errors/decision-log-error.js';
import { useTempDir } from '../helpers/temp-dir.js';

const tmp = useTempDir();
const rs = parseRules("version: 1\ntarget: { namespace: ns, deployment: app }\nrules:\n  - { name: r, tier: immediate, query: 'q', above: 1 }\n", 'round.yaml');
const release = { namespace: 'ns', deployment: 'app', startedAt: Date.parse('2026-11-20T14:00:00Z'), severity: 'minor' as const, windowMs: 3_600_000, source: 'test' };

describe('decision log (real SQLite)', () => {
  it('migrates an empty file: WAL, schema version, readable tables', () => {
    const file = path.join(tmp(), 'd.db');
    openDecisionLog(file).close();
    const db = new Database(file, { readonly: true });
    expect(db.pragma('user_version', { simple: true })).toBe(SCHEMA_VERSION);
    expect(db.pragma('journal_mode', { simple: true })).toBe('wal');
    const tables = db.prepare(`SELECT name FROM sqlite_master WHERE type='table' ORDER BY name`).pluck().all();
    expect(tables).toEqual(['approvals', 'baselines', 'decisions', 'evaluations', 'outbox', 'releases', 'rollbacks', 'rules_files']);
    db.close();
  });

  it('round-trips a release, its baselines, evaluations, decisions (±Inf kept) and the engine state', () => {
    const file = path.join(tmp(), 'd.db');
    const store = openDecisionLog(file, { now: () => 0 });
    const rel = store.startRelease(release, rs, { ttfa: { query: 'base', reading: { kind: 'value', value: 0.4, labels: {} } }, mem: { query: 'm', reading: { kind: 'error', error: 'timeout' } } });
    const at = release.startedAt + 15_000;
    const state = { outcome: { kind: 'rolled-back' as const, at }, rules: { r: { state: 'firing' as const, activeAt: at, firedAt: at } } };
    const stored = store.recordInstant(
      rel.id,
      at,
      state,
      [{ rule: 'r', at, verdict: 'breach', state: 'firing', value: Number.POSITIVE_INFINITY, threshold: 1, labels: { pod: 'a' } }],
      [{ at, action: 'rollback', tier: 'immediate', rule: 'r', value: Number.POSITIVE_INFINITY, threshold: 1, mode: 'enforce', evidence: { value: Number.POSITIVE_INFINITY, threshold: 1, rulesHash: rs.hash, release: { startedAt: release.startedAt, severity: 'minor', windowEnd: 0 } } }],
    );
    expect(stored[0]!.id).toBe(1);
    store.close();

    const db = new Database(file, { readonly: true });
    const r = db.prepare('SELECT * FROM releases').get() as Record<string, unknown>;
    expect(r).toMatchObject({ id: 1, namespace: 'ns', started_at: '2026-11-20T14:00:00.000Z', severity: 'minor', window_seconds: 3600, outcome: 'rolled-back', ended_at: '2026-11-20T14:00:15.000Z', rules_hash: rs.hash });
    expect(JSON.parse(r.engine_state as string)).toEqual(state);
    expect(db.prepare('SELECT name, value, status, detail FROM baselines ORDER BY name').all()).toEqual([
      { name: 'mem', value: null, status: 'error', detail: 'timeout' },
      { name: 'ttfa', value: 0.4, status: 'value', detail: null },
    ]);
    expect(db.prepare('SELECT rule, verdict, state, value, labels FROM evaluations').get()).toEqual({ rule: 'r', verdict: 'breach', state: 'firing', value: Number.POSITIVE_INFINITY, labels: '{"pod":"a"}' });
    const d = db.prepare('SELECT * FROM decisions').get() as Record<string, unknown>;
    expect(d).toMatchObject({ action: 'rollback', tier: 'immediate', rule: 'r', mode: 'enforce', value: Number.POSITIVE_INFINITY });
    expect(JSON.parse(d.evidence as string)).toMatchObject({ value: '+Inf', rulesHash: rs.hash });
    expect(db.prepare('SELECT content FROM rules_files WHERE hash = ?').pluck().get(rs.hash)).toBe(rs.source);
    db.close();
  });

  it("an instant's evaluations are all stored, in order, however many (multi-row INSERTs of up to 100 rows)", () => {
    const file = path.join(tmp(), 'd.db');
    const store = openDecisionLog(file, { batchInstants: 10 });
    const rel = store.startRelease(release, rs, {});
    const at = release.startedAt + 15_000;
    for (const n of [1, 100, 101, 250, 3]) {
      const evals = Array.from({ length: n }, (_, i) => ({ rule: `r${n}-${i}`, at, verdict: 'pass' as const, state: 'inactive' as const, value: i, threshold: 1, ...(i % 2 ? { labels: { pod: `p${i}` } } : {}) }));
      store.recordInstant(rel.id, at, { rules: {} }, evals, []);
    }
    store.close();
    const db = new Database(file, { readonly: true });
    const rows = db.prepare('SELECT rule, value, labels FROM evaluations ORDER BY id').all() as { rule: string; value: number; labels: string | null }[];
    expect(rows).toHaveLength(1 + 100 + 101 + 250 + 3);
    expect(rows.slice(101, 104)).toEqual([
      { rule: 'r101-0', value: 0, labels: null },
      { rule: 'r101-1', value: 1, labels: '{"pod":"p1"}' },
      { rule: 'r101-2', value: 2, labels: null },
    ]);
    expect(rows[200]).toEqual({ rule: 'r101-99', value: 99, labels: '{"pod":"p99"}' });
    expect(rows[201]).toEqual({ rule: 'r101-100', value: 100, labels: null });
    expect(rows.at(-4)).toEqual({ rule: 'r250-249', value: 249, labels: '{"pod":"p249"}' });
    db.close();
  });

  it('appends to an existing log: a second open keeps the first release', () => {
    const file = path.join(tmp(), 'd.db');
    openDecisionLog(file).startRelease(release, rs, {});
    const s2 = openDecisionLog(file);
    expect(s2.startRelease(release, rs, {}).id).toBe(2);
    s2.close();
  });

  it('refuses a newer schema, a non-SQLite file and a foreign SQLite database, with clear messages', () => {
    const dir = tmp();
    const newer = path.join(dir, 'newer.db');
    const db = new Database(newer);
    db.pragma(`user_version = ${SCHEMA_VERSION + 5}`);
    db.close();
    expect(() => openDecisionLog(newer)).toThrowError(new RegExp(`schema version ${SCHEMA_VERSION + 5}, newer than this rollback-guard knows`));

    const text = path.join(dir, 'text.db');
    fs.writeFileSync(text, 'hello, I am not a database, but long enough to have a header of sorts...........................................');
    expect(() => openDecisionLog(text)).toThrowError(DecisionLogError);
    expect(() => openDecisionLog(text)).toThrowError(/not a SQLite database/);

    const foreign = path.join(dir, 'foreign.db');
    const f = new Database(foreign);
    f.exec('CREATE TABLE t (x)');
    f.close();
    expect(() => openDecisionLog(foreign)).toThrowError(/not a rollback-guard decision log/);
  });

  it('a process killed mid-write loses only the unfinished instant (WAL + one transaction per instant)', async () => {
    const file = path.join(tmp(), 'crash.db');
    const child = spawn(process.execPath, ['--import', 'tsx', 'test/helpers/crash-writer.ts', file], { stdio: ['ignore', 'pipe', 'inherit'] });
    await new Promise<void>((resolve, reject) => {
      child.stdout.on('data', (b: Buffer) => {
        if (b.toString().includes('committed')) setTimeout(() => { child.kill('SIGKILL'); resolve(); }, 300);
      });
      child.on('exit', (code) => reject(new Error(`writer exited on its own (${code}) before it was killed`)));
    });
    await new Promise((r) => child.on('close', r));
    expect(child.signalCode).toBe('SIGKILL');

    const store = openDecisionLog(file); // reopens and recovers from the WAL
    const n = store.db.prepare('SELECT count(*) FROM evaluations').pluck().get();
    const rel = store.db.prepare('SELECT engine_state, last_evaluated_at FROM releases').get() as { engine_state: string; last_evaluated_at: string };
    expect(store.db.pragma('integrity_check', { simple: true })).toBe('ok');
    store.close();
    expect(n).toBe(1);
    expect(JSON.parse(rel.engine_state)).toEqual({ rules: { r: { state: 'pending', activeAt: 0 } } });
    expect(rel.last_evaluated_at).toBe('1970-01-01T00:00:00.000Z');
  });
});
