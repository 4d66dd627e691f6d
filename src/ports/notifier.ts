import type { Notification } from '../core/notification-plan.js';
import type { SlackMessageRef } from './outbox.js';

/**
 * How one delivery attempt ended. `retry`: worth trying again (network error, 429, 5xx), not before
 * `retryAfterMs` when the service said so. `permanent`: trying again cannot help (bad event, unknown channel,
 * bad credentials); the outbox marks it dead with `error`.
 */
export type DeliveryResult =
  | { kind: 'delivered'; slack?: SlackMessageRef }
  | { kind: 'retry'; error: string; retryAfterMs?: number }
  | { kind: 'permanent'; error: string };

/** Sends one notification of its channel. Never throws: every failure is a result, with a message free of secrets. */
export interface Notifier {
  deliver(notification: Notification, context: { slackMessage?: SlackMessageRef }): Promise<DeliveryResult>;
}
