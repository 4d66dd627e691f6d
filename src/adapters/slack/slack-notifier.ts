// Slack Web API through @slack/web-api's WebClient: chat.postMessage (Block Kit + text fallback), then chat.update
// of the stored ts. WebClient's own retries are off: the outbox worker retries, so a restart cannot lose one.
import slack from '@slack/web-api';
import type { Notification } from '../../core/notification-plan.js';
import type { SlackMessageRef } from '../../ports/outbox.js';
import type { DeliveryResult, Notifier } from '../../ports/notifier.js';

export interface SlackOptions {
  /** Bot token (xoxb-...), read by the caller from env or a file. */
  token: string;
  /** Web API base URL, with its trailing slash. @default 'https://slack.com/api/' */
  apiUrl: string;
  /** Per-request timeout. @default 10000 */
  timeoutMs?: number;
}

/** Errors that the same request cannot recover from (Slack's `ok:false` reasons). Others are retried. */
const PERMANENT = new Set([
  'channel_not_found', 'invalid_auth', 'not_authed', 'account_inactive', 'token_revoked', 'token_expired', 'not_in_channel', 'is_archived',
  'msg_too_long', 'no_text', 'invalid_blocks', 'invalid_blocks_format', 'message_not_found', 'cant_update_message', 'edit_window_closed',
  'missing_scope', 'restricted_action', 'invalid_arguments', 'too_many_attachments', 'ekm_access_denied', 'team_access_not_granted',
]);

export class SlackNotifier implements Notifier {
  private readonly client: InstanceType<typeof slack.WebClient>;

  constructor(options: SlackOptions) {
    this.client = new slack.WebClient(options.token, {
      slackApiUrl: options.apiUrl,
      retryConfig: { retries: 0 },
      rejectRateLimitedCalls: true,
      timeout: options.timeoutMs ?? 10_000,
      logLevel: slack.LogLevel.ERROR,
    });
  }

  async deliver(n: Notification, context: { slackMessage?: SlackMessageRef }): Promise<DeliveryResult> {
    if (n.channel !== 'slack') return { kind: 'permanent', error: `not a Slack notification (${n.channel})` };
    try {
      if (n.action === 'update') {
        const ref = context.slackMessage;
        if (!ref) return { kind: 'retry', error: 'the message to update has not been posted yet' };
        await this.client.chat.update({ channel: ref.channelId, ts: ref.ts, text: n.text, blocks: n.blocks as never });
        return { kind: 'delivered', slack: ref };
      }
      const res = await this.client.chat.postMessage({ channel: n.slackChannel, text: n.text, blocks: n.blocks as never, unfurl_links: false });
      if (!res.ts || !res.channel) return { kind: 'retry', error: 'Slack answered ok without a message ts' };
      return { kind: 'delivered', slack: { channelId: res.channel, ts: res.ts } };
    } catch (err) {
      return classify(err, n.action === 'update' ? 'chat.update' : 'chat.postMessage', n.slackChannel);
    }
  }
}

function classify(err: unknown, method: string, channel: string): DeliveryResult {
  const e = err as { code?: string; data?: { error?: string }; retryAfter?: number; statusCode?: number; original?: { code?: string; message?: string }; message?: string };
  const where = `Slack ${method} to ${channel}`;
  switch (e.code) {
    case slack.ErrorCode.PlatformError: {
      const reason = e.data?.error ?? 'unknown';
      if (reason === 'ratelimited') return { kind: 'retry', error: `${where}: ratelimited` };
      return PERMANENT.has(reason) ? { kind: 'permanent', error: `${where}: ${reason}` } : { kind: 'retry', error: `${where}: ${reason}` };
    }
    case slack.ErrorCode.RateLimitedError:
      return { kind: 'retry', error: `${where}: rate limited (429)`, ...(e.retryAfter ? { retryAfterMs: e.retryAfter * 1000 } : {}) };
    case slack.ErrorCode.HTTPError:
      return (e.statusCode ?? 500) >= 500 ? { kind: 'retry', error: `${where}: HTTP ${e.statusCode}` } : { kind: 'permanent', error: `${where}: HTTP ${e.statusCode}` };
    default:
      return { kind: 'retry', error: `${where}: unreachable (${e.original?.code ?? e.original?.message ?? e.message ?? String(err)})` };
  }
}
