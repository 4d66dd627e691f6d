// The decision log in SQLite (better-sqlite3): WAL, migrations by PRAGMA user_version, one transaction per
// instant. Times are stored as ISO 8601 UTC with milliseconds, so they sort as text and read well in sqlite3.
import fs from 'node:fs';
import Database from 'better-sqlite3';
import type { Decision, Evaluation, ReleaseState } from '../../core/engine.js';
import type { ScalarReading } from '../../core/query-outcome.js';
import { toJson } from '../../core/json.js';
import type { Release } from '../../core/release.js';
import type { Ruleset } from '../../core/ruleset.js';
import { DecisionLogError } from '../../errors/decision-log-error.js';
import type { Severity } from '../../core/rules-schema.js';
import type { DecisionStore, NewRelease, OpenRelease, StableTarget, StoredDecision, StoredRelease } from '../../ports/decision-store.js';
import type { DecisionRow } from './rows.js';
import { statementCache } from './statement-cache.js';
import { MIGRATIONS } from './migrations.js';
import { failpoint } from '../failpoint/failpoint.js';

const iso = (ms: number) => new Date(ms).toISOString();
/** SQLite stores NaN as NULL anyway; make that explicit and keep ±Inf. */
const real = (v: number | null | undefined) => (v === null || v === undefined || Number.isNaN(v) ? null : v);

/** A baseline row back as the reading the engine saw. */
function readingOf(b: { value: number | null; status: string; detail: string | null }): ScalarReading {
  switch (b.status) {
    case 'value':
      return b.value === null ? { kind: 'no-data' } : { kind: 'value', value: b.value, labels: {} };
    case 'several-series':
      return { kind: 'several-series', count: Number.parseInt(b.detail ?? '2', 10) || 2 };
    case 'error':
      return { kind: 'error', error: b.detail ?? 'error' };
    default:
      return { kind: 'no-data' };
  }
}

function hasKeys(o: object): boolean {
  for (const _ in o) return true;
  return false;
}

export const SCHEMA_VERSION = MIGRATIONS.length;

/** Rows per multi-row INSERT: 9 parameters each, far below SQLite's 32,766 bound parameters. */
const MAX_ROWS_PER_INSERT = 100;

const insertEvaluationsSqlByRows: string[] = [];
/** The INSERT of `n` evaluation rows, built once per `n` (the number of rules evaluated at an instant). */
function insertEvaluationsSql(n: number): string {
  return (insertEvaluationsSqlByRows[n] ??= `INSERT INTO evaluations (release_id, at, rule, verdict, state, value, threshold, labels, detail) VALUES ${Array(n).fill('(?, ?, ?, ?, ?, ?, ?, ?, ?)').join(', ')}`);
}

export interface DecisionLogOptions {
  /** Wall clock for `rules_files.first_seen`. Default Date.now. */
  now?: () => number;
  /**
   * Instants committed together. Each instant is still atomic (a savepoint), but a commit per instant costs a
   * WAL write of every touched page; replaying a week is 40,000 instants. 1 (the default) is what the live daemon
   * needs: nothing decided is ever only in memory. Replay uses a larger batch; a crash then loses at most the
   * uncommitted batch, which a re-run reproduces.
   */
  batchInstants?: number;
}

/** Opens (creating and migrating if needed) a decision log for writing. */
export function openDecisionLog(file: string, options: DecisionLogOptions = {}): SqliteDecisionStore {
  let db: Database.Database;
  try {
    db = new Database(file);
    db.pragma('journal_mode = WAL');
    db.pragma('synchronous = NORMAL'); // durable across process crashes in WAL mode; fsync on checkpoint
    db.pragma('foreign_keys = ON');
    db.pragma('busy_timeout = 5000');
    db.pragma('temp_store = MEMORY'); // no temporary files beside the log: works with a read-only root filesystem
  } catch (err) {
    throw new DecisionLogError(`cannot open decision log ${file}: ${describeSqliteError(err)}`, { cause: err });
  }
  try {
    migrate(db, file);
  } catch (err) {
    db.close();
    throw err;
  }
  return new SqliteDecisionStore(db, options.now ?? Date.now, options.batchInstants ?? 1);
}

function describeSqliteError(err: unknown): string {
  const e = err as { code?: string; message?: string };
  if (e.code === 'SQLITE_NOTADB') return 'the file is not a SQLite database (is it the right path?)';
  if (e.code === 'SQLITE_CANTOPEN') return 'cannot create or open the file (does its directory exist, and is it writable?)';
  return e.message ?? String(err);
}

function migrate(db: Database.Database, file: string): void {
  let version: number;
  try {
    version = db.pragma('user_version', { simple: true }) as number;
  } catch (err) {
    throw new DecisionLogError(`cannot open decision log ${file}: ${describeSqliteError(err)}`, { cause: err });
  }
  if (version > MIGRATIONS.length) {
    throw new DecisionLogError(
      `decision log ${file} has schema version ${version}, newer than this rollback-guard knows (${MIGRATIONS.length}); use a newer rollback-guard to write to it`,
    );
  }
  if (version === 0) {
    const tables = db.prepare(`SELECT count(*) AS n FROM sqlite_master WHERE type = 'table'`).get() as { n: number };
    if (tables.n > 0) throw new DecisionLogError(`${file} is a SQLite database but not a rollback-guard decision log (it has other tables and no schema version); choose another --db path`);
  }
  for (let v = version; v < MIGRATIONS.length; v++) {
    db.transaction(() => {
      db.exec(MIGRATIONS[v]!);
      failpoint('mid-migration', v + 1);
      db.pragma(`user_version = ${v + 1}`);
    })();
  }
}

export class SqliteDecisionStore implements DecisionStore {
  readonly db: Database.Database;
  private readonly now: () => number;
  private readonly stmt: (sql: string) => Database.Statement;
  private readonly insertDecision: Database.Statement;
  private readonly updateRelease: Database.Statement;
  private readonly batchInstants: number;
  private readonly writeInstantAtomically: SqliteDecisionStore['writeInstant'];
  private uncommitted = 0;
  private releaseRow: readonly unknown[] | undefined;

  constructor(db: Database.Database, now: () => number, batchInstants: number) {
    this.db = db;
    this.now = now;
    this.batchInstants = Math.max(1, Math.floor(batchInstants));
    this.stmt = statementCache(db);
    this.insertDecision = db.prepare(
      `INSERT INTO decisions (release_id, at, action, tier, rule, level, mode, value, threshold, rules_hash, evidence) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    );
    this.writeInstantAtomically = db.transaction(this.writeInstant.bind(this));
    this.updateRelease = db.prepare(
      // An outcome already set (a release superseded while a tick of it was in flight) is never cleared.
      `UPDATE releases SET engine_state = ?, last_evaluated_at = ?, outcome = COALESCE(outcome, ?), ended_at = COALESCE(ended_at, ?) WHERE id = ?`,
    );
  }

  recordRules(ruleset: Ruleset): void {
    this.db.prepare(`INSERT OR IGNORE INTO rules_files (hash, file, content, first_seen) VALUES (?, ?, ?, ?)`).run(ruleset.hash, ruleset.file, ruleset.source, iso(this.now()));
  }

  openReleases(): OpenRelease[] {
    const rows = this.db
      .prepare(`SELECT id, namespace, deployment, started_at, severity, window_seconds, source, rules_hash, engine_state, last_evaluated_at, revision, selector, stable FROM releases WHERE outcome IS NULL AND source = 'live' ORDER BY id`)
      .all() as { id: number; namespace: string; deployment: string; started_at: string; severity: Severity; window_seconds: number; source: string; rules_hash: string; engine_state: string; last_evaluated_at: string | null; revision: string | null; selector: string | null; stable: string | null }[];
    const baselines = this.db.prepare(`SELECT name, value, status, detail FROM baselines WHERE release_id = ?`);
    return rows.map((r) => {
      const open: OpenRelease = {
        id: r.id,
        namespace: r.namespace,
        deployment: r.deployment,
        startedAt: Date.parse(r.started_at),
        severity: r.severity,
        windowMs: r.window_seconds * 1000,
        source: r.source,
        rulesHash: r.rules_hash,
        state: JSON.parse(r.engine_state) as ReleaseState,
        baselines: Object.fromEntries(
          (baselines.all(r.id) as { name: string; value: number | null; status: string; detail: string | null }[]).map((b): [string, ScalarReading] => [b.name, readingOf(b)]),
        ),
        ...(r.revision !== null ? { revision: r.revision } : {}),
        ...(r.selector !== null ? { selector: JSON.parse(r.selector) as Record<string, string> } : {}),
        ...(r.stable !== null ? { stable: JSON.parse(r.stable) as StableTarget } : {}),
      };
      if (r.last_evaluated_at) open.lastEvaluatedAt = Date.parse(r.last_evaluated_at);
      return open;
    });
  }

  releaseContext(releaseId: number): { release: Release; baselines: Record<string, ScalarReading>; selector?: Record<string, string>; stable?: StableTarget } | undefined {
    const r = this.db.prepare(`SELECT started_at, severity, window_seconds, selector, stable FROM releases WHERE id = ?`).get(releaseId) as { started_at: string; severity: Severity; window_seconds: number; selector: string | null; stable: string | null } | undefined;
    if (!r) return undefined;
    const baselines = this.db.prepare(`SELECT name, value, status, detail FROM baselines WHERE release_id = ?`).all(releaseId) as { name: string; value: number | null; status: string; detail: string | null }[];
    return {
      release: { startedAt: Date.parse(r.started_at), severity: r.severity, windowMs: r.window_seconds * 1000 },
      baselines: Object.fromEntries(baselines.map((b): [string, ScalarReading] => [b.name, readingOf(b)])),
      ...(r.selector !== null ? { selector: JSON.parse(r.selector) as Record<string, string> } : {}),
      ...(r.stable !== null ? { stable: JSON.parse(r.stable) as StableTarget } : {}),
    };
  }

  decision(decisionId: number): StoredDecision | undefined {
    const r = this.db.prepare(`SELECT * FROM decisions WHERE id = ?`).get(decisionId) as DecisionRow | undefined;
    if (!r) return undefined;
    const d: StoredDecision = {
      id: r.id,
      releaseId: r.release_id,
      at: Date.parse(r.at),
      action: r.action as StoredDecision['action'],
      tier: r.tier as StoredDecision['tier'],
      rule: r.rule,
      value: r.value,
      threshold: r.threshold,
      mode: r.mode as StoredDecision['mode'],
      evidence: JSON.parse(r.evidence) as StoredDecision['evidence'],
    };
    if (r.level !== null) d.level = r.level;
    return d;
  }

  closeRelease(releaseId: number, outcome: 'superseded' | 'abandoned' | 'rolled-back', at: number, note: string): void {
    this.commitBatch();
    this.db.prepare(`UPDATE releases SET outcome = ?, ended_at = ?, outcome_note = ? WHERE id = ? AND outcome IS NULL`).run(outcome, iso(at), note, releaseId);
  }

  startRelease(release: NewRelease, ruleset: Ruleset, baselines: Record<string, { query: string; reading: ScalarReading }>): StoredRelease {
    const state: ReleaseState = { rules: {} };
    const run = this.db.transaction(() => {
      this.recordRules(ruleset);
      const info = this.db
        .prepare(
          `INSERT INTO releases (namespace, deployment, started_at, severity, window_seconds, window_ends_at, source, rules_hash, engine_state, selector, stable)
           VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
        )
        .run(release.namespace, release.deployment, iso(release.startedAt), release.severity, release.windowMs / 1000, iso(release.startedAt + release.windowMs), release.source, ruleset.hash, JSON.stringify(state), release.selector ? JSON.stringify(release.selector) : null, release.stable ? JSON.stringify(release.stable) : null);
      const id = Number(info.lastInsertRowid);
      const insert = this.db.prepare(`INSERT INTO baselines (release_id, name, query, value, status, detail) VALUES (?, ?, ?, ?, ?, ?)`);
      for (const [name, { query, reading }] of Object.entries(baselines)) {
        const detail = reading.kind === 'error' ? reading.error : reading.kind === 'several-series' ? `${reading.count} series` : null;
        insert.run(id, name, query, reading.kind === 'value' ? real(reading.value) : null, reading.kind, detail);
      }
      return id;
    });
    const id = run();
    return { ...release, id, rulesHash: ruleset.hash, state };
  }

  /**
   * Writes one page and commits (a no-op update of the first rules file's row), throwing a DecisionLogError when the
   * file cannot be written: how a daemon with no release to record finds its log writable again.
   */
  probeWrite(): void {
    try {
      this.db.transaction(() => this.db.prepare(`UPDATE rules_files SET hash = hash WHERE rowid = (SELECT min(rowid) FROM rules_files)`).run()).immediate();
    } catch (err) {
      throw new DecisionLogError(`cannot write to the decision log: ${describeSqliteError(err)}`, { cause: err });
    }
  }

  recordInstant(releaseId: number, at: number, state: ReleaseState, evaluations: readonly Evaluation[], decisions: readonly Decision[]): StoredDecision[] {
    try {
      if (this.batchInstants === 1) return this.writeInstantAtomically(releaseId, at, state, evaluations, decisions);
      if (!this.db.inTransaction) this.db.exec('BEGIN');
      const stored = this.writeInstant(releaseId, at, state, evaluations, decisions);
      if (++this.uncommitted >= this.batchInstants) this.commitBatch();
      return stored;
    } catch (err) {
      // A batch is one transaction: drop it whole rather than keep a half-written instant.
      const lost = this.batchInstants > 1 && this.db.inTransaction ? this.rollbackBatch() : 0;
      throw new DecisionLogError(
        `cannot write to the decision log: ${describeSqliteError(err)}${lost ? ` (the last ${lost} uncommitted instants were rolled back)` : ''}`,
        { cause: err },
      );
    }
  }

  private writeInstant(releaseId: number, at: number, state: ReleaseState, evaluations: readonly Evaluation[], decisions: readonly Decision[]): StoredDecision[] {
    const atText = iso(at);
    // One INSERT of all of an instant's rows: a week's replay (363,000 rows) spent 1.3-1.6 s writing them this way,
    // 1.9-2.0 s with a statement run per row.
    for (let from = 0; from < evaluations.length; from += MAX_ROWS_PER_INSERT) {
      const rows = evaluations.slice(from, from + MAX_ROWS_PER_INSERT);
      const args: unknown[] = [];
      for (const e of rows) args.push(releaseId, atText, e.rule, e.verdict, e.state, real(e.value), real(e.threshold), e.labels && hasKeys(e.labels) ? toJson(e.labels) : null, e.detail ?? null);
      this.stmt(insertEvaluationsSql(rows.length)).run(args);
    }
    const stored = decisions.map((d) => {
      const info = this.insertDecision.run(releaseId, iso(d.at), d.action, d.tier, d.rule, d.level ?? null, d.mode, real(d.value), real(d.threshold), d.evidence.rulesHash, toJson(d.evidence));
      return { ...d, id: Number(info.lastInsertRowid), releaseId };
    });
    const release = [JSON.stringify(state), atText, state.outcome?.kind ?? null, state.outcome ? iso(state.outcome.at) : null, releaseId] as const;
    // In a batch the release row is written once, at commit: the batch is one transaction, so the row still
    // always matches the last instant stored, at a fraction of the cost.
    if (this.batchInstants > 1) this.releaseRow = release;
    else this.updateRelease.run(...release);
    return stored;
  }

  private rollbackBatch(): number {
    const lost = this.uncommitted + 1;
    this.db.exec('ROLLBACK');
    this.releaseRow = undefined;
    this.uncommitted = 0;
    return lost;
  }

  private commitBatch(): void {
    if (!this.db.inTransaction) return;
    if (this.releaseRow) this.updateRelease.run(...this.releaseRow);
    this.releaseRow = undefined;
    this.db.exec('COMMIT');
    this.uncommitted = 0;
  }

  close(): void {
    if (!this.db.open) return;
    this.commitBatch();
    this.db.close();
  }
}

/** True when `file` exists; used to say "created" vs "appended to" in messages. */
export function decisionLogExists(file: string): boolean {
  return fs.existsSync(file);
}
