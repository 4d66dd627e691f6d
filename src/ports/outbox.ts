import type { Notification } from '../core/notification-plan.js';

export type OutboxStatus = 'pending' | 'delivered' | 'dead';

/** One stored notification and its delivery state. */
export interface OutboxItem {
  id: number;
  releaseId: number | null;
  notification: Notification;
  status: OutboxStatus;
  attempts: number;
  nextAttemptAt: number;
  lastError?: string;
  fallbackFor?: number;
}

/** Where a delivered Slack message is, so it can be updated later. */
export interface SlackMessageRef {
  channelId: string;
  ts: string;
}

/** What /health and /metrics show about notifications. */
export interface OutboxHealth {
  /** Notifications waiting to be sent (including retries). */
  depth: number;
  /** Notifications given up on (permanent error). */
  dead: number;
  /** Dead notifications whose fallback is dead too: nobody was told. Non-zero means the guard is unhealthy. */
  unreported: number;
  /** Creation time of the oldest pending notification. */
  oldestPendingAt?: number;
}

/** The outbox: notifications are written here before they are sent, and delivered from here. */
export interface Outbox {
  /** Stores notifications (ignoring any already stored under the same key); returns how many were new. */
  enqueue(notifications: readonly Notification[], releaseId: number | null, now: number): number;
  /** Pending notifications due at `now`, oldest first. */
  due(now: number, limit: number): OutboxItem[];
  markDelivered(id: number, now: number, slack?: SlackMessageRef): void;
  markRetry(id: number, nextAttemptAt: number, error: string): void;
  markDead(id: number, now: number, reason: string): void;
  /** The delivered Slack message posted under `messageKey`, if any. */
  slackMessage(messageKey: string): SlackMessageRef | undefined;
  /** Status of the Slack post under `messageKey` (undefined: none was planned). */
  slackPostStatus(messageKey: string): OutboxStatus | undefined;
  get(id: number): OutboxItem | undefined;
  health(): OutboxHealth;
}
