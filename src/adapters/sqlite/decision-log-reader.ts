// Every query the incident tools (log, explain, report) run on a decision log, in one place so tables added
// later (rollbacks, notifications, approvals) are read here and nowhere else. The file is opened read-only:
// reading an incident's log must never change it. Tables that other features add are feature-detected through
// sqlite_master, so this reader works on logs with or without them.
import fs from 'node:fs';
import Database from 'better-sqlite3';
import { DecisionLogError } from '../../errors/decision-log-error.js';
import type { DecisionRow, ReleaseRow } from './rows.js';
import { SCHEMA_VERSION } from './sqlite-decision-store.js';

export type { DecisionRow, ReleaseRow } from './rows.js';

/** A row of a table this binary does not define; SQLite gives text, numbers or NULL (no blobs are logged). */
export type Row = Record<string, string | number | bigint | null>;



export interface EvaluationRow {
  at: string;
  rule: string;
  verdict: string;
  state: string;
  value: number | null;
  threshold: number | null;
  labels: string | null;
  detail: string | null;
}

/** Which releases and decisions a command looks at. Times are ISO 8601 UTC text, compared as text. */
export interface LogFilter {
  from?: string;
  to?: string;
  releaseId?: number;
  target?: { namespace: string; deployment: string };
  actions?: readonly string[];
}

/** Tables added by other features, read when present. Matched by name so a renamed outbox still shows. */
const OPTIONAL = {
  rollbacks: /^rollbacks$/,
  notifications: /^(notifications|notification_outbox|outbox)$/,
  approvals: /^approvals$/,
} as const;
export type OptionalTable = keyof typeof OPTIONAL;

export class DecisionLogReader {
  readonly db: Database.Database;
  readonly file: string;
  private readonly tables: Map<string, Set<string>>;

  private constructor(db: Database.Database, file: string) {
    this.db = db;
    this.file = file;
    this.tables = new Map();
    const names = db.prepare(`SELECT name FROM sqlite_master WHERE type = 'table'`).pluck().all() as string[];
    for (const name of names) {
      const cols = db.prepare(`SELECT name FROM pragma_table_info(?)`).pluck().all(name) as string[];
      this.tables.set(name, new Set(cols));
    }
  }

  /** Opens `file` read-only and checks it is a decision log this binary can read. */
  static open(file: string): DecisionLogReader {
    const db = openChecked(file, { readonly: true });
    return new DecisionLogReader(db, file);
  }

  close(): void {
    this.db.close();
  }

  /** The real name of an optional table when this log has it. */
  optionalTable(kind: OptionalTable): string | undefined {
    for (const name of this.tables.keys()) if (OPTIONAL[kind].test(name)) return name;
    return undefined;
  }

  hasColumn(table: string, column: string): boolean {
    return this.tables.get(table)?.has(column) ?? false;
  }

  /** Releases matching the filter, newest first. With `actions`, only releases with such a decision. */
  releases(filter: LogFilter): ReleaseRow[] {
    const where: string[] = [];
    const args: unknown[] = [];
    if (filter.releaseId !== undefined) {
      where.push('r.id = ?');
      args.push(filter.releaseId);
    }
    if (filter.target) {
      where.push('r.namespace = ? AND r.deployment = ?');
      args.push(filter.target.namespace, filter.target.deployment);
    }
    // A release is in a time range when it overlaps it: it started before the end and was still guarded at the start.
    if (filter.to !== undefined) {
      where.push('r.started_at <= ?');
      args.push(filter.to);
    }
    if (filter.from !== undefined) {
      where.push('coalesce(r.ended_at, r.last_evaluated_at, r.window_ends_at) >= ?');
      args.push(filter.from);
    }
    if (filter.actions?.length) {
      where.push(`EXISTS (SELECT 1 FROM decisions d WHERE d.release_id = r.id AND d.action IN (${filter.actions.map(() => '?').join(', ')}))`);
      args.push(...filter.actions);
    }
    const sql = `SELECT r.id, r.namespace, r.deployment, r.started_at, r.severity, r.window_seconds, r.window_ends_at, r.source, r.rules_hash, r.outcome, r.ended_at, r.last_evaluated_at
      FROM releases r ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY r.started_at DESC, r.id DESC`;
    return this.db.prepare(sql).all(...args) as ReleaseRow[];
  }

  release(id: number): ReleaseRow | undefined {
    return this.releases({ releaseId: id })[0];
  }

  /** Decisions of these releases, in time order, optionally only some actions. */
  decisions(releaseIds: readonly number[], actions?: readonly string[]): DecisionRow[] {
    if (!releaseIds.length) return [];
    const out: DecisionRow[] = [];
    // Chunks keep the statement under SQLite's bound-parameter limit on logs with many releases.
    for (let i = 0; i < releaseIds.length; i += 500) {
      const ids = releaseIds.slice(i, i + 500);
      const actionSql = actions?.length ? ` AND action IN (${actions.map(() => '?').join(', ')})` : '';
      const rows = this.db
        .prepare(`SELECT * FROM decisions WHERE release_id IN (${ids.map(() => '?').join(', ')})${actionSql} ORDER BY at, id`)
        .all(...ids, ...(actions ?? [])) as DecisionRow[];
      out.push(...rows);
    }
    return out.sort((a, b) => (a.at < b.at ? -1 : a.at > b.at ? 1 : a.id - b.id));
  }

  decision(id: number): DecisionRow | undefined {
    return this.db.prepare(`SELECT * FROM decisions WHERE id = ?`).get(id) as DecisionRow | undefined;
  }

  rulesFile(hash: string): { hash: string; file: string; content: string } | undefined {
    return this.db.prepare(`SELECT hash, file, content FROM rules_files WHERE hash = ?`).get(hash) as { hash: string; file: string; content: string } | undefined;
  }

  baselines(releaseId: number): { name: string; query: string; value: number | null; status: string; detail: string | null }[] {
    return this.db.prepare(`SELECT name, query, value, status, detail FROM baselines WHERE release_id = ? ORDER BY name`).all(releaseId) as never;
  }

  /** Evaluations of a release in [from, to] (ISO text), optionally of one rule; uses the (release_id, at) index. */
  evaluations(releaseId: number, range: { from?: string; to?: string; rule?: string } = {}): EvaluationRow[] {
    return this.db
      .prepare(
        `SELECT at, rule, verdict, state, value, threshold, labels, detail FROM evaluations
         WHERE release_id = ? AND at >= ? AND at <= ? ${range.rule !== undefined ? 'AND rule = ?' : ''} ORDER BY at, id`,
      )
      .all(releaseId, range.from ?? '', range.to ?? '\uffff', ...(range.rule !== undefined ? [range.rule] : [])) as EvaluationRow[];
  }

  /**
   * Manual rollbacks (`rollback-guard rollback`: a rollbacks row with no decision), newest first, by when they were
   * asked for, the Deployment, or the release they reverted. Empty on a log without the rollbacks table.
   */
  manualRollbacks(filter: Pick<LogFilter, 'from' | 'to' | 'target' | 'releaseId'> & { id?: number }): Row[] {
    const table = this.optionalTable('rollbacks');
    if (!table || !this.hasColumn(table, 'decision_id')) return [];
    const where = ['decision_id IS NULL'];
    const args: unknown[] = [];
    const add = (clause: string, ...values: unknown[]) => {
      where.push(clause);
      args.push(...values);
    };
    if (filter.id !== undefined) add('id = ?', filter.id);
    if (filter.releaseId !== undefined) add('release_id = ?', filter.releaseId);
    if (filter.target) add('namespace = ? AND deployment = ?', filter.target.namespace, filter.target.deployment);
    if (filter.from !== undefined) add('requested_at >= ?', filter.from);
    if (filter.to !== undefined) add('requested_at <= ?', filter.to);
    return this.db.prepare(`SELECT * FROM "${table}" WHERE ${where.join(' AND ')} ORDER BY requested_at DESC, id DESC`).all(...args) as Row[];
  }

  /** Rows of an optional table that belong to these decisions (by decision_id) or releases (by release_id). */
  related(kind: OptionalTable, by: { decisionIds?: readonly number[]; releaseIds?: readonly number[] }): Row[] {
    const table = this.optionalTable(kind);
    if (!table) return [];
    const clauses: string[] = [];
    const args: unknown[] = [];
    if (by.decisionIds?.length && this.hasColumn(table, 'decision_id')) {
      clauses.push(`decision_id IN (${by.decisionIds.map(() => '?').join(', ')})`);
      args.push(...by.decisionIds);
    }
    if (by.releaseIds?.length && this.hasColumn(table, 'release_id')) {
      clauses.push(`release_id IN (${by.releaseIds.map(() => '?').join(', ')})`);
      args.push(...by.releaseIds);
    }
    if (!clauses.length) return [];
    const order = this.hasColumn(table, 'id') ? ' ORDER BY id' : '';
    return this.db.prepare(`SELECT * FROM "${table}" WHERE ${clauses.join(' OR ')}${order}`).all(...args) as Row[];
  }
}

/** When a rollback was complete: verified when the rollbacks table says so, else finished. Undefined if none. */
export function rollbackCompletedAt(rows: readonly Row[]): string | undefined {
  for (const r of rows) {
    if (r.outcome !== undefined && r.outcome !== 'rolled-back') continue;
    const at = (r.verification === 'rollback-complete' ? r.verified_at : undefined) ?? r.finished_at ?? r.completed_at;
    if (typeof at === 'string') return at;
  }
  return undefined;
}

/**
 * Opens an existing decision log and checks it: exists, is SQLite, has a schema version this binary knows,
 * and has the decision log's tables. Every failure is one sentence naming the file.
 */
export function openChecked(file: string, options: { readonly: boolean }): Database.Database {
  if (file === '') throw new DecisionLogError('no decision log given: --db (or ROLLBACK_GUARD_DB) is empty; give the file that replay or the daemon wrote');
  if (!fs.existsSync(file)) throw new DecisionLogError(`decision log ${file} does not exist; give the file that replay or the daemon wrote with --db (or ROLLBACK_GUARD_DB)`);
  if (fs.statSync(file).isDirectory()) throw new DecisionLogError(`decision log ${file} is a directory; give the decision log file in it with --db (or ROLLBACK_GUARD_DB), e.g. ${file.replace(/\/$/, '')}/decisions.db`);
  let db: Database.Database;
  try {
    db = new Database(file, { readonly: options.readonly, fileMustExist: true });
    db.pragma('busy_timeout = 5000');
  } catch (err) {
    throw new DecisionLogError(`cannot open decision log ${file}: ${(err as Error).message}`, { cause: err });
  }
  try {
    let version: number;
    try {
      version = db.pragma('user_version', { simple: true }) as number;
    } catch (err) {
      const notDb = (err as { code?: string }).code === 'SQLITE_NOTADB';
      throw new DecisionLogError(notDb ? `${file} is not a SQLite database, so not a decision log; check the path` : `cannot read decision log ${file}: ${(err as Error).message}`, { cause: err });
    }
    if (version > SCHEMA_VERSION) {
      throw new DecisionLogError(`decision log ${file} has schema version ${version}, newer than this rollback-guard knows (${SCHEMA_VERSION}); use a newer rollback-guard to read it`);
    }
    const tables = new Set(db.prepare(`SELECT name FROM sqlite_master WHERE type = 'table'`).pluck().all() as string[]);
    const missing = ['releases', 'decisions', 'evaluations', 'rules_files', 'baselines'].filter((t) => !tables.has(t));
    if (version === 0 || missing.length) {
      throw new DecisionLogError(`${file} is not a rollback-guard decision log (${version === 0 ? 'it has no schema version' : `it lacks the tables ${missing.join(', ')}`}); check the path`);
    }
    return db;
  } catch (err) {
    db.close();
    throw err;
  }
}
