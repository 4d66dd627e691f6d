// Delivers the outbox: each due notification through its channel's notifier; retries with exponential backoff
// (never sooner than Retry-After) on network errors, 429 and 5xx; marks permanent failures dead and queues the
// other channel's fallback. The clock is injected, so tests run the ladder over simulated time.
import { failpoint } from '../adapters/failpoint/failpoint.js';
import { planFallback } from '../core/notification-fallback.js';
import type { Notification } from '../core/notification-plan.js';
import type { NotificationSettings } from '../core/ruleset.js';
import type { DeliveryResult, Notifier } from '../ports/notifier.js';
import type { Outbox, OutboxItem, SlackMessageRef } from '../ports/outbox.js';

const NOT_CONFIGURED: Record<Notification['channel'], string> = {
  slack: 'Slack is not configured (set SLACK_BOT_TOKEN or SLACK_BOT_TOKEN_FILE)',
  pagerduty: 'PagerDuty is not configured',
  email: 'email was not configured when the daemon started (notifications.email was added since): restart the daemon to send email',
};

export interface DeliveryWorkerOptions {
  outbox: Outbox;
  /** A channel with no notifier (e.g. no Slack token) kills its notifications with a message saying so. */
  notifiers: Partial<Record<Notification['channel'], Notifier>>;
  /** The notification settings of a release (its rules file's), for fallbacks. */
  settings: (releaseId: number | null) => NotificationSettings;
  now: () => number;
  /** First retry delay. @default 2000 */
  initialBackoffMs?: number;
  /** Longest retry delay. @default 300000 (5 min) */
  maxBackoffMs?: number;
  /** How often start() polls the outbox. @default 1000 */
  pollMs?: number;
  /** Notifications sent per runOnce. @default 50 */
  batch?: number;
  /** Called on each attempt that did not deliver (for the daemon's log). Never gets a secret. */
  onFailure?: (item: OutboxItem, result: Exclude<DeliveryResult, { kind: 'delivered' }>) => void;
}

export interface RunSummary {
  delivered: number;
  retried: number;
  dead: number;
}

export class DeliveryWorker {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<unknown> | undefined;
  private stopped = true;
  /** Delivered notifications whose delivery the outbox could not record yet (by outbox id). */
  private readonly unrecorded = new Map<number, { at: number; slack?: SlackMessageRef }>();

  constructor(private readonly o: DeliveryWorkerOptions) {}

  /** One pass over what is due at `now`, in order (a Slack post before its update). */
  async runOnce(now: number = this.o.now()): Promise<RunSummary> {
    const summary: RunSummary = { delivered: 0, retried: 0, dead: 0 };
    // Sent, but the decision log could not record it (disk full): record it now, and send nothing new until that
    // works, so a message is never sent again because its delivery could not be written down.
    for (const [id, d] of this.unrecorded) {
      this.o.outbox.markDelivered(id, d.at, d.slack);
      this.unrecorded.delete(id);
    }
    for (const item of this.o.outbox.due(now, this.o.batch ?? 50)) {
      const n = item.notification;
      const notifier = this.o.notifiers[n.channel];
      const orphan = n.channel === 'slack' && n.action === 'update' ? this.orphanUpdate(n.messageKey) : undefined;
      const result: DeliveryResult = orphan
        ? { kind: 'permanent', error: orphan }
        : notifier
          ? await notifier.deliver(n, n.channel === 'slack' && n.action === 'update' ? withRef(this.o.outbox.slackMessage(n.messageKey)) : {})
          : { kind: 'permanent', error: NOT_CONFIGURED[n.channel] };
      const at = this.o.now();
      if (result.kind === 'delivered') {
        failpoint('after-send', n.channel);
        try {
          this.o.outbox.markDelivered(item.id, at, result.slack);
        } catch (err) {
          this.unrecorded.set(item.id, { at, ...(result.slack ? { slack: result.slack } : {}) });
          throw err;
        }
        summary.delivered++;
        continue;
      }
      this.o.onFailure?.(item, result);
      if (result.kind === 'retry') {
        const backoff = Math.min(this.o.maxBackoffMs ?? 300_000, (this.o.initialBackoffMs ?? 2000) * 2 ** Math.min(item.attempts, 20));
        this.o.outbox.markRetry(item.id, at + Math.max(backoff, result.retryAfterMs ?? 0), result.error);
        summary.retried++;
      } else {
        this.o.outbox.markDead(item.id, at, result.error);
        this.o.outbox.enqueue(planFallback(this.o.settings(item.releaseId), n, item.id, result.error, at), item.releaseId, at);
        summary.dead++;
      }
    }
    return summary;
  }

  /** Why a Slack update can never be delivered (its post is dead or was never planned), or undefined. */
  private orphanUpdate(messageKey: string): string | undefined {
    const status = this.o.outbox.slackPostStatus(messageKey);
    if (status === 'dead') return 'the message it updates could not be posted (see that notification\'s error)';
    if (status === undefined) return 'there is no posted message to update';
    return undefined;
  }

  /** Polls every `pollMs` until stop(). A failing pass is reported and the loop goes on. */
  start(): void {
    if (!this.stopped) return;
    this.stopped = false;
    const loop = () => {
      if (this.stopped) return;
      this.running = this.runOnce()
        .catch((err: unknown) => console.error(`rollback-guard: outbox delivery pass failed: ${err instanceof Error ? err.message : String(err)}`))
        .finally(() => {
          this.running = undefined;
          if (!this.stopped) this.timer = setTimeout(loop, this.o.pollMs ?? 1000);
        });
    };
    loop();
  }

  /** Stops polling and waits for a pass in flight to finish (so its results are recorded). */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    await this.running;
  }
}

function withRef(ref: ReturnType<Outbox['slackMessage']>): { slackMessage?: NonNullable<typeof ref> } {
  return ref ? { slackMessage: ref } : {};
}
