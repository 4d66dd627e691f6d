// PagerDuty Events API v2 through @pagerduty/pdjs. pdjs never throws on 4xx/5xx (it resolves with the status),
// only ever uses https://, and retries 429 by itself (3 times, `retryTimeout` apart) before resolving with it;
// the outbox worker does the real retrying, honouring Retry-After.
import type { Agent } from 'node:https';
import pdjs from '@pagerduty/pdjs';
import type { Notification } from '../../core/notification-plan.js';
import type { DeliveryResult, Notifier } from '../../ports/notifier.js';
import { readSecret, routingKeyVariable } from '../secrets/read-secret.js';

export interface PagerDutyOptions {
  /** Events API host[:port]. @default 'events.pagerduty.com' (EU: 'events.eu.pagerduty.com') */
  server: string;
  /** Routing key for a name from the rules file. @default env PAGERDUTY_ROUTING_KEY_<NAME>[_FILE] */
  routingKey?: (name: string) => string;
  /** TLS agent (a private CA for a proxy or a test stand-in). */
  agent?: Agent;
  /** Per-request timeout. @default 10000 */
  timeoutMs?: number;
  /** Pause between pdjs's own 429 retries. @default 1000 */
  retry429Ms?: number;
}

/** pdjs types `payload` as always required; the Events API wants it on triggers only. */
type PdEventData = Parameters<typeof pdjs.event>[0]['data'];

interface PdResponse {
  status: number;
  data?: { status?: string; message?: string; errors?: string[]; dedup_key?: string };
  headers: { get(name: string): string | null };
}

export class PagerDutyNotifier implements Notifier {
  constructor(private readonly options: PagerDutyOptions) {}

  async deliver(n: Notification): Promise<DeliveryResult> {
    if (n.channel !== 'pagerduty') return { kind: 'permanent', error: `not a PagerDuty notification (${n.channel})` };
    let routingKey: string;
    try {
      routingKey = (this.options.routingKey ?? ((name) => readSecret(routingKeyVariable(name))))(n.routingKeyName);
    } catch (err) {
      return { kind: 'permanent', error: (err as Error).message };
    }
    const data = {
      routing_key: routingKey,
      event_action: n.action,
      dedup_key: n.dedupKey,
      // Events v2: only a trigger carries a payload; acknowledge and resolve name the incident by dedup_key.
      ...(n.action === 'trigger' ? { payload: { summary: n.summary, source: n.source, severity: n.severity, timestamp: n.timestamp, component: n.source, group: 'rollback-guard', custom_details: n.customDetails } } : {}),
    };
    let res: PdResponse;
    try {
      res = await pdjs.event({
        server: this.options.server,
        data: data as PdEventData,
        requestTimeout: this.options.timeoutMs ?? 10_000,
        retryTimeout: this.options.retry429Ms ?? 1000,
        ...(this.options.agent ? { agent: this.options.agent } : {}),
      });
    } catch (err) {
      // Connection refused, TLS failure, timeout, or a body that is not JSON.
      return { kind: 'retry', error: `PagerDuty ${this.options.server} unreachable: ${describe(err)}` };
    }
    const detail = [res.data?.message, ...(res.data?.errors ?? [])].filter(Boolean).join(': ');
    if (res.status === 202) return { kind: 'delivered' };
    if (res.status === 429) {
      const after = Number(res.headers.get('retry-after'));
      return { kind: 'retry', error: `PagerDuty rate limited (429)`, ...(Number.isFinite(after) && after > 0 ? { retryAfterMs: after * 1000 } : {}) };
    }
    if (res.status >= 500) return { kind: 'retry', error: `PagerDuty answered ${res.status}${detail ? `: ${detail}` : ''}` };
    // 400 invalid event, and any other 4xx: sending the same event again cannot succeed.
    return { kind: 'permanent', error: `PagerDuty rejected the ${n.action} event (${res.status})${detail ? `: ${detail}` : ''}` };
  }
}

function describe(err: unknown): string {
  const e = err as { code?: string; message?: string; type?: string };
  return e.code ?? e.type ?? e.message ?? String(err);
}
