// Kubernetes Events (events.k8s.io/v1) on the Deployments the guard judges, so `kubectl describe deployment` and
// every cluster event exporter show why a release was reverted. Best-effort by construction: `record` only queues
// (it never awaits or throws), one worker sends in order, the queue is bounded, and every outcome is counted. An
// Event repeated within the series window is folded into the first one's `series` (a merge patch), the way
// client-go's events broadcaster folds isomorphic events (k8s.io/client-go/tools/events).
import { setHeaderOptions } from '@kubernetes/client-node/dist/middleware.js';
import { PatchStrategy } from '@kubernetes/client-node/dist/patch.js';
import { V1MicroTime } from '@kubernetes/client-node/dist/types.js';
import type { EventsV1Event } from '@kubernetes/client-node';
import { KubernetesError } from '../../errors/kubernetes-error.js';
import { kubeCall } from './kube-call.js';
import type { KubeClients } from './kube-client.js';

/** One Event to record about a Deployment. */
export interface KubeEventSpec {
  namespace: string;
  deployment: string;
  type: 'Normal' | 'Warning';
  /** CamelCase, from the documented vocabulary (README: Kubernetes Events). */
  reason: string;
  /** What the guard did or will do: Rollback, Page, Promote, ... */
  action: string;
  /** Rule, value, threshold and decision id; cut to the API's 1024 bytes. */
  note: string;
}

/** created: a new Event; folded: a repeat counted in an Event's series; failed: the API call failed; dropped: the queue was full. */
export type EventOutcome = 'created' | 'folded' | 'failed' | 'dropped';

export interface EventRecorderOptions {
  /** `reportingController`: a qualified name. */
  controller: string;
  /** `reportingInstance`: this replica (its pod name), at most 128 characters. */
  instance: string;
  now?: () => number;
  onOutcome?: (outcome: EventOutcome) => void;
  onError?: (err: Error, event: KubeEventSpec) => void;
  /** A repeat within this long of the last one is folded into its series. Default 6 minutes (client-go's). */
  seriesWindowMs?: number;
  /** Events waiting beyond this many drop the oldest. Default 100. */
  maxQueued?: number;
  /** How long a Deployment's uid is reused before it is read again. Default 5 minutes. */
  uidTtlMs?: number;
}

export const NOTE_LIMIT_BYTES = 1024;

interface Recent {
  name: string;
  count: number;
  lastAt: number;
}

export class KubeEventRecorder {
  private readonly queue: KubeEventSpec[] = [];
  private draining: Promise<void> | undefined;
  private readonly recent = new Map<string, Recent>();
  private readonly uids = new Map<string, { uid: string | undefined; at: number }>();
  private seq = 0;

  constructor(
    private readonly k: Pick<KubeClients, 'apps' | 'events' | 'timeoutMs'>,
    private readonly o: EventRecorderOptions,
  ) {}

  /** Queues an Event; returns at once. */
  record(event: KubeEventSpec): void {
    if (this.queue.length >= (this.o.maxQueued ?? 100)) {
      this.queue.shift();
      quietly(() => this.o.onOutcome?.('dropped'));
    }
    this.queue.push(event);
    this.draining ??= this.drain();
  }

  /** Resolves when every queued Event has been sent or has failed (tests, shutdown). */
  async idle(): Promise<void> {
    while (this.draining) await this.draining;
  }

  private async drain(): Promise<void> {
    try {
      for (let e = this.queue.shift(); e; e = this.queue.shift()) {
        let outcome: EventOutcome;
        try {
          // Not `onOutcome?.(await this.send(e))`: an optional call skips evaluating its arguments when absent.
          outcome = await this.send(e);
        } catch (err) {
          outcome = 'failed';
          quietly(() => this.o.onError?.(err as Error, e));
        }
        quietly(() => this.o.onOutcome?.(outcome));
      }
    } finally {
      // In the same turn as the last shift: an Event recorded after it starts a new drain, never waits unseen.
      this.draining = undefined;
    }
  }

  private now(): number {
    return (this.o.now ?? Date.now)();
  }

  private async send(e: KubeEventSpec): Promise<EventOutcome> {
    const now = this.now();
    const window = this.o.seriesWindowMs ?? 360_000;
    for (const [key, r] of this.recent) if (now - r.lastAt > window) this.recent.delete(key);
    const key = [e.namespace, e.deployment, e.reason, e.action, e.note].join('\u0000');
    const seen = this.recent.get(key);
    if (seen) {
      seen.count++;
      seen.lastAt = now;
      try {
        const body = { series: { count: seen.count, lastObservedTime: new V1MicroTime(now) } };
        await kubeCall(`patch Event ${e.namespace}/${seen.name}`, this.k.timeoutMs, (options) =>
          this.k.events.patchNamespacedEvent({ name: seen.name, namespace: e.namespace, body }, setHeaderOptions('Content-Type', PatchStrategy.MergePatch, options)),
        );
        return 'folded';
      } catch (err) {
        // Gone (Events expire, an hour by default): start a new one.
        if (!(err instanceof KubernetesError && err.code === 'RG_K8S_NOT_FOUND')) throw err;
        this.recent.delete(key);
      }
    }
    const uid = await this.uidOf(e.namespace, e.deployment);
    // client-go's naming: the object's name and the time in hex, unique per recorder. A cut name must still end
    // its DNS label with a letter or digit.
    const name = `${e.deployment.slice(0, 230).replace(/[-.]+$/, '')}.${(now * 1000 + (this.seq++ % 1000)).toString(16)}`;
    const body: EventsV1Event = {
      metadata: { name, namespace: e.namespace },
      eventTime: new V1MicroTime(now),
      type: e.type,
      reason: e.reason,
      action: e.action,
      note: truncateBytes(e.note, NOTE_LIMIT_BYTES),
      regarding: { apiVersion: 'apps/v1', kind: 'Deployment', namespace: e.namespace, name: e.deployment, ...(uid ? { uid } : {}) },
      reportingController: this.o.controller,
      reportingInstance: this.o.instance.slice(0, 128),
    };
    await kubeCall(`create Event on ${e.namespace}/${e.deployment}`, this.k.timeoutMs, (options) => this.k.events.createNamespacedEvent({ namespace: e.namespace, body }, options));
    this.recent.set(key, { name, count: 1, lastAt: now });
    return 'created';
  }

  /**
   * The Deployment's uid, which `kubectl describe` selects Events by (involvedObject.uid); read once and reused for a
   * while. Unknown (the read failed): the Event is still recorded, `kubectl events` shows it, `describe` may not.
   */
  private async uidOf(namespace: string, deployment: string): Promise<string | undefined> {
    const key = `${namespace}/${deployment}`;
    const ttl = this.o.uidTtlMs ?? 300_000;
    for (const [k, u] of this.uids) if (this.now() - u.at >= 2 * ttl) this.uids.delete(k); // Deployments come and go
    const cached = this.uids.get(key);
    if (cached?.uid && this.now() - cached.at < ttl) return cached.uid;
    try {
      const d = await kubeCall(`read Deployment ${key}`, this.k.timeoutMs, (options) => this.k.apps.readNamespacedDeployment({ name: deployment, namespace }, options));
      this.uids.set(key, { uid: d.metadata?.uid, at: this.now() });
      return d.metadata?.uid;
    } catch {
      return cached?.uid;
    }
  }
}

/** Runs a caller's callback; what it throws is its own, never the recorder's (which must not stop). */
function quietly(run: () => void): void {
  try {
    run();
  } catch {
    /* the callback's failure */
  }
}

/** At most `limit` UTF-8 bytes, cut at a character boundary, marked with an ellipsis when cut. */
export function truncateBytes(text: string, limit: number): string {
  if (Buffer.byteLength(text) <= limit) return text;
  let out = '';
  for (const ch of text) {
    if (Buffer.byteLength(out + ch) > limit - 3) break;
    out += ch;
  }
  return `${out}...`;
}
