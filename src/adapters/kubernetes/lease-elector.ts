// Leader election on a coordination.k8s.io/v1 Lease, the client-go algorithm made small (the client library has
// none). Every retry period: read the Lease; create it if missing; renew it if ours; take it over if its holder
// has not renewed it for leaseDuration *as observed locally* (no comparing clocks across machines); otherwise
// follow. Writes carry the resourceVersion read, so two candidates racing for it cannot both win (409).
// Leadership is lost at once when another holder is seen, and when renewals have failed for renewDeadline;
// isLeader() also checks that deadline itself, so a hung loop cannot leave a stale leader acting.
import type { V1Lease } from '@kubernetes/client-node';
import { V1MicroTime } from '@kubernetes/client-node/dist/types.js';
import { KubernetesError } from '../../errors/kubernetes-error.js';
import type { LeaderElector } from '../../ports/leader.js';
import { kubeCall } from './kube-call.js';
import type { KubeClients } from './kube-client.js';

/** The leader's HTTP API, as it wrote it on the Lease. */
export const LEADER_URL = 'rollback-guard.io/leader-url';

export interface LeaseElectorOptions {
  namespace: string;
  /** Lease name. Default `rollback-guard`. */
  name?: string;
  /** This replica's identity (pod name). */
  identity: string;
  /**
   * Where this replica's HTTP API answers (`http://<pod IP>:8080`), written on the Lease while it leads
   * (annotation rollback-guard.io/leader-url) so followers can forward approvals to it.
   */
  address?: string;
  /** How long a lease is valid without renewal, ms. Default 15000 (client-go's). */
  leaseDurationMs?: number;
  /** The leader gives up when it could not renew for this long, ms; below leaseDurationMs. Default 10000. */
  renewDeadlineMs?: number;
  /** Time between attempts, ms. Default 2000. */
  retryPeriodMs?: number;
  onChange?: (leading: boolean, holder: string | undefined) => void;
  /** Reports failed attempts (they are retried). */
  onError?: (err: KubernetesError) => void;
  now?: () => number;
}

export class LeaseElector implements LeaderElector {
  private readonly name: string;
  private readonly leaseMs: number;
  private readonly renewDeadlineMs: number;
  private readonly retryMs: number;
  private readonly now: () => number;
  private leading = false;
  private lastRenewAt = 0;
  private holder: string | undefined;
  private holderUrl: string | undefined;
  /** The last record seen (holder + renewTime) and when this replica first saw it. */
  private observed: { key: string; at: number } | undefined;
  private timer: NodeJS.Timeout | undefined;
  private inFlight: Promise<void> | undefined;
  private stopped = true;

  constructor(
    private readonly k: KubeClients,
    private readonly o: LeaseElectorOptions,
  ) {
    this.name = o.name ?? 'rollback-guard';
    this.leaseMs = o.leaseDurationMs ?? 15_000;
    this.renewDeadlineMs = o.renewDeadlineMs ?? 10_000;
    this.retryMs = o.retryPeriodMs ?? 2_000;
    this.now = o.now ?? Date.now;
    if (!(this.retryMs < this.renewDeadlineMs && this.renewDeadlineMs < this.leaseMs)) {
      // Otherwise a leader could still act after another replica has taken the lease over.
      throw new KubernetesError('RG_K8S_CONFIG', `leader election needs retryPeriod < renewDeadline < leaseDuration; got ${this.retryMs} ms, ${this.renewDeadlineMs} ms, ${this.leaseMs} ms`);
    }
  }

  async start(): Promise<void> {
    this.stopped = false;
    await this.tick();
  }

  isLeader(): boolean {
    if (this.leading && this.now() - this.lastRenewAt > this.renewDeadlineMs) this.setLeading(false, this.holder);
    return this.leading;
  }

  leader(): string | undefined {
    return this.isLeader() ? this.o.identity : this.holder;
  }

  leaderUrl(): string | undefined {
    return this.isLeader() ? this.o.address : this.holderUrl;
  }

  /** Stops campaigning; a leader releases the Lease so another replica takes over at its next attempt. */
  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    await this.inFlight;
    if (!this.isLeader()) return;
    this.setLeading(false, undefined);
    try {
      const lease = await this.read();
      if (lease?.spec?.holderIdentity !== this.o.identity) return;
      const now = new V1MicroTime(this.now());
      lease.spec = { ...lease.spec, holderIdentity: '', leaseDurationSeconds: 1, renewTime: now, acquireTime: now };
      await this.write('release', lease);
    } catch (err) {
      this.o.onError?.(err as KubernetesError); // it expires on its own after leaseDuration
    }
  }

  private async tick(): Promise<void> {
    this.inFlight = this.attempt().catch((err: unknown) => this.o.onError?.(err as KubernetesError));
    await this.inFlight;
    this.inFlight = undefined;
    if (!this.stopped) this.timer = setTimeout(() => void this.tick(), this.retryMs);
  }

  private async attempt(): Promise<void> {
    const now = this.now();
    let lease: V1Lease | undefined;
    try {
      lease = await this.read();
      if (!lease) {
        const t = new V1MicroTime(now);
        await kubeCall(`create lease ${this.o.namespace}/${this.name}`, this.k.timeoutMs, (options) =>
          this.k.coordination.createNamespacedLease({
            namespace: this.o.namespace,
            body: { metadata: { name: this.name, namespace: this.o.namespace, ...this.annotations({}) }, spec: { holderIdentity: this.o.identity, leaseDurationSeconds: Math.ceil(this.leaseMs / 1000), acquireTime: t, renewTime: t, leaseTransitions: 0 } },
          }, options),
        );
        return this.renewed(now);
      }
      const spec = lease.spec ?? {};
      const holder = spec.holderIdentity || undefined;
      const key = `${holder ?? ''}@${String(spec.renewTime)}`;
      if (this.observed?.key !== key) this.observed = { key, at: now };
      if (holder && holder !== this.o.identity) {
        const durationMs = (spec.leaseDurationSeconds ?? Math.ceil(this.leaseMs / 1000)) * 1000;
        if (this.observed.at + durationMs > now) {
          // Someone else holds a lease that is still valid: follow. A leader that sees this has been replaced.
          this.holder = holder;
          this.holderUrl = lease.metadata?.annotations?.[LEADER_URL] || undefined;
          if (this.leading) this.setLeading(false, holder);
          return;
        }
      }
      const t = new V1MicroTime(now);
      const takeover = holder !== this.o.identity;
      lease.metadata = { ...lease.metadata, ...this.annotations(lease.metadata?.annotations ?? {}) };
      lease.spec = {
        ...spec,
        holderIdentity: this.o.identity,
        leaseDurationSeconds: Math.ceil(this.leaseMs / 1000),
        renewTime: t,
        // Times read back are strings or Dates; a real API server wants MicroTime's 6 fractional digits.
        acquireTime: takeover || !spec.acquireTime ? t : new V1MicroTime(new Date(spec.acquireTime).getTime()),
        leaseTransitions: (spec.leaseTransitions ?? 0) + (takeover && holder ? 1 : 0),
      };
      await this.write(takeover ? 'acquire' : 'renew', lease);
      this.renewed(now);
    } catch (err) {
      // A failed renewal keeps leadership only until the renew deadline (checked in isLeader()).
      this.isLeader();
      throw err;
    }
  }

  private renewed(now: number): void {
    this.lastRenewAt = now;
    this.holder = this.o.identity;
    if (!this.leading) this.setLeading(true, this.o.identity);
  }

  /** The Lease's annotations with this replica's address as the leader's (or without any, when it has none). */
  private annotations(existing: Record<string, string>): { annotations: Record<string, string> } {
    const rest = Object.fromEntries(Object.entries(existing).filter(([k]) => k !== LEADER_URL));
    return { annotations: this.o.address ? { ...rest, [LEADER_URL]: this.o.address } : rest };
  }

  private setLeading(leading: boolean, holder: string | undefined): void {
    this.leading = leading;
    // A holder's URL is only known from a Lease read naming that holder (the follow branch sets it after this).
    if (holder !== this.holder) this.holderUrl = undefined;
    this.holder = holder;
    this.o.onChange?.(leading, holder);
  }

  private async read(): Promise<V1Lease | undefined> {
    try {
      return await kubeCall(`get lease ${this.o.namespace}/${this.name}`, this.k.timeoutMs, (options) => this.k.coordination.readNamespacedLease({ name: this.name, namespace: this.o.namespace }, options));
    } catch (err) {
      if ((err as KubernetesError).code === 'RG_K8S_NOT_FOUND') return undefined;
      throw err;
    }
  }

  private async write(what: string, lease: V1Lease): Promise<void> {
    await kubeCall(`${what} lease ${this.o.namespace}/${this.name}`, this.k.timeoutMs, (options) =>
      this.k.coordination.replaceNamespacedLease({ name: this.name, namespace: this.o.namespace, body: lease }, options),
    );
  }
}
