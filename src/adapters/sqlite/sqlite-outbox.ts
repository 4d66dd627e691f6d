// The outbox in the decision log (table `outbox`). Each state change is one UPDATE, so a crash between a send and
// its mark leaves the item pending and it is sent again: PagerDuty dedups by dedup_key; Slack posts are recorded
// with their ts as soon as they succeed.
import type Database from 'better-sqlite3';
import type { Notification } from '../../core/notification-plan.js';
import type { Outbox, OutboxHealth, OutboxItem, SlackMessageRef } from '../../ports/outbox.js';
import { statementCache } from './statement-cache.js';

const iso = (ms: number) => new Date(ms).toISOString();

interface Row {
  id: number;
  release_id: number | null;
  payload: string;
  status: OutboxItem['status'];
  attempts: number;
  next_attempt_at: string;
  last_error: string | null;
  fallback_for: number | null;
}

function toItem(r: Row): OutboxItem {
  const item: OutboxItem = {
    id: r.id,
    releaseId: r.release_id,
    notification: JSON.parse(r.payload) as Notification,
    status: r.status,
    attempts: r.attempts,
    nextAttemptAt: Date.parse(r.next_attempt_at),
  };
  if (r.last_error !== null) item.lastError = r.last_error;
  if (r.fallback_for !== null) item.fallbackFor = r.fallback_for;
  return item;
}

export class SqliteOutbox implements Outbox {
  private readonly insert: Database.Statement;
  private readonly stmt: (sql: string) => Database.Statement;

  constructor(private readonly db: Database.Database) {
    this.stmt = statementCache(db);
    this.insert = db.prepare(
      `INSERT OR IGNORE INTO outbox (key, created_at, release_id, decision_id, channel, action, target, dedup_key, message_key, level, payload, fallback_for, status, next_attempt_at)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'pending', ?)`,
    );
  }

  enqueue(notifications: readonly Notification[], releaseId: number | null, now: number): number {
    const run = this.db.transaction(() => {
      let added = 0;
      for (const n of notifications) {
        const target = n.channel === 'pagerduty' ? n.routingKeyName : n.channel === 'slack' ? n.slackChannel : n.to.join(', ');
        const info = this.insert.run(n.key, iso(now), releaseId, n.decisionId ?? null, n.channel, n.action, target, n.dedupKey, n.channel === 'slack' ? n.messageKey : null, n.level ?? null, JSON.stringify(n), n.fallbackFor ?? null, iso(now));
        added += info.changes;
      }
      return added;
    });
    return run();
  }

  due(now: number, limit: number): OutboxItem[] {
    const rows = this.stmt(`SELECT * FROM outbox WHERE status = 'pending' AND next_attempt_at <= ? ORDER BY next_attempt_at, id LIMIT ?`).all(iso(now), limit) as Row[];
    return rows.map(toItem);
  }

  get(id: number): OutboxItem | undefined {
    const row = this.stmt(`SELECT * FROM outbox WHERE id = ?`).get(id) as Row | undefined;
    return row ? toItem(row) : undefined;
  }

  markDelivered(id: number, now: number, slack?: SlackMessageRef): void {
    this.stmt(`UPDATE outbox SET status = 'delivered', attempts = attempts + 1, delivered_at = ?, last_error = NULL, slack_channel_id = coalesce(?, slack_channel_id), slack_ts = coalesce(?, slack_ts) WHERE id = ?`)
      .run(iso(now), slack?.channelId ?? null, slack?.ts ?? null, id);
  }

  markRetry(id: number, nextAttemptAt: number, error: string): void {
    this.stmt(`UPDATE outbox SET attempts = attempts + 1, next_attempt_at = ?, last_error = ? WHERE id = ?`).run(iso(nextAttemptAt), error, id);
  }

  markDead(id: number, _now: number, reason: string): void {
    this.stmt(`UPDATE outbox SET status = 'dead', attempts = attempts + 1, last_error = ? WHERE id = ?`).run(reason, id);
  }

  slackMessage(messageKey: string): SlackMessageRef | undefined {
    const row = this.stmt(`SELECT slack_channel_id AS channelId, slack_ts AS ts FROM outbox WHERE message_key = ? AND action = 'post' AND status = 'delivered' AND slack_ts IS NOT NULL ORDER BY id LIMIT 1`)
      .get(messageKey) as SlackMessageRef | undefined;
    return row;
  }

  slackPostStatus(messageKey: string): OutboxItem['status'] | undefined {
    const row = this.stmt(`SELECT status FROM outbox WHERE message_key = ? AND action = 'post' ORDER BY id LIMIT 1`).get(messageKey) as { status: OutboxItem['status'] } | undefined;
    return row?.status;
  }

  health(): OutboxHealth {
    const r = this.stmt(
        `SELECT
           (SELECT count(*) FROM outbox WHERE status = 'pending') AS depth,
           (SELECT count(*) FROM outbox WHERE status = 'dead') AS dead,
           (SELECT min(created_at) FROM outbox WHERE status = 'pending') AS oldest,
           (SELECT count(*) FROM outbox o WHERE o.status = 'dead' AND o.fallback_for IS NULL
              AND NOT EXISTS (SELECT 1 FROM outbox f WHERE f.fallback_for = o.id AND f.status <> 'dead')) AS unreported`,
      )
      .get() as { depth: number; dead: number; oldest: string | null; unreported: number };
    const h: OutboxHealth = { depth: r.depth, dead: r.dead, unreported: r.unreported };
    if (r.oldest) h.oldestPendingAt = Date.parse(r.oldest);
    return h;
  }
}
