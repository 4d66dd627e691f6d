// Prepared statements kept per SQL text on one connection. Preparing (parsing and planning) costs more than
// running a small statement, and some run every second (the outbox's due items) or every instant of a replay.
import type Database from 'better-sqlite3';

export function statementCache(db: Database.Database): (sql: string) => Database.Statement {
  const prepared = new Map<string, Database.Statement>();
  return (sql) => {
    let st = prepared.get(sql);
    if (!st) prepared.set(sql, (st = db.prepare(sql)));
    return st;
  };
}
