/* eslint-disable @typescript-eslint/no-unsafe-member-access -- stand-in objects are raw API JSON */
import { afterEach, describe, expect, it } from 'vitest';
import { KubeActuator } from '../../src/adapters/kubernetes/kube-actuator.js';
import { serverClients } from '../../src/adapters/kubernetes/kube-client.js';
import { LeaseElector } from '../../src/adapters/kubernetes/lease-elector.js';
import { startFaultProxy } from '../helpers/fault-proxy.js';
import { waitFor } from '../helpers/free-port.js';
import { useKubeStandIn } from '../helpers/kube-fixture.js';

const NS = 'voice-production';
const standIn = useKubeStandIn();
// Short, but with room for a loaded 2-core machine: a renewal may take a second without losing the lease.
const timing = { leaseDurationMs: 2000, renewDeadlineMs: 1500, retryPeriodMs: 100 };
const electors: LeaseElector[] = [];
afterEach(async () => {
  for (const e of electors.splice(0)) await e.stop();
});
function elector(url: string, identity: string, changes: string[] = [], address?: string): LeaseElector {
  const e = new LeaseElector(serverClients({ server: url, timeoutMs: 1000 }), { namespace: NS, identity, ...timing, ...(address ? { address } : {}), onChange: (l, h) => changes.push(`${identity}:${l ? 'leading' : `following ${h ?? '-'}`}`) });
  electors.push(e);
  return e;
}

describe('Lease leader election', () => {
  it('acquires a missing Lease (MicroTime renewTime), renews it, and releases it on stop', async () => {
    const { kube } = await standIn();
    const a = elector(kube.url, 'pod-a');
    await a.start();
    expect(a.isLeader()).toBe(true);
    const lease = kube.lease(NS, 'rollback-guard')!;
    expect(lease.spec).toMatchObject({ holderIdentity: 'pod-a', leaseDurationSeconds: 2, leaseTransitions: 0 });
    expect(lease.spec.renewTime).toMatch(/\.\d{6}Z$/);
    const rv = lease.metadata.resourceVersion as string;
    await waitFor('a renewal', () => kube.lease(NS, 'rollback-guard')!.metadata.resourceVersion !== rv);
    expect(kube.lease(NS, 'rollback-guard')!.spec.holderIdentity).toBe('pod-a');
    await a.stop();
    expect(a.isLeader()).toBe(false);
    expect(kube.lease(NS, 'rollback-guard')!.spec.holderIdentity).toBe('');
  });

  it('two candidates: exactly one leads; the leader dies (its API calls fail), it steps down, the other takes over', async () => {
    const { kube } = await standIn();
    const proxy = await startFaultProxy(kube.url);
    try {
      const changes: string[] = [];
      const a = elector(proxy.url, 'pod-a', changes);
      const b = elector(kube.url, 'pod-b', changes);
      await a.start();
      await b.start();
      expect([a.isLeader(), b.isLeader()]).toEqual([true, false]);
      expect(b.leader()).toBe('pod-a');
      // pod-a is cut off from the API: it cannot renew. It must stop acting by its renew deadline, and pod-b take
      // over once the lease has not been renewed for its duration, as pod-b observed it.
      proxy.fault = { kind: 'status', status: 503, times: 1_000_000 };
      await waitFor('pod-a to step down', () => !a.isLeader(), 5000, 20);
      await waitFor('pod-b to lead', () => b.isLeader(), 5000, 20);
      expect(a.isLeader()).toBe(false);
      const lease = kube.lease(NS, 'rollback-guard')!;
      expect(lease.spec).toMatchObject({ holderIdentity: 'pod-b', leaseTransitions: 1 });
      // pod-a comes back: it sees a newer holder and follows.
      proxy.fault = { kind: 'pass' };
      await waitFor('pod-a to see pod-b', () => a.leader() === 'pod-b', 5000, 20);
      expect(a.isLeader()).toBe(false);
      expect(changes).toEqual(['pod-a:leading', 'pod-a:following pod-a', 'pod-b:leading']);
    } finally {
      await proxy.close();
    }
  });

  it("the leader writes its API URL on the Lease; followers read it (to forward approvals), and a new leader replaces it", async () => {
    const { kube } = await standIn();
    const proxy = await startFaultProxy(kube.url);
    try {
      const a = elector(proxy.url, 'pod-a', [], 'http://10.0.0.7:8080');
      const b = elector(kube.url, 'pod-b', [], 'http://10.0.0.8:8080');
      await a.start();
      await b.start();
      expect(kube.lease(NS, 'rollback-guard')!.metadata.annotations).toMatchObject({ 'rollback-guard.io/leader-url': 'http://10.0.0.7:8080' });
      expect([a.leaderUrl(), b.leaderUrl()]).toEqual(['http://10.0.0.7:8080', 'http://10.0.0.7:8080']);
      proxy.fault = { kind: 'status', status: 503, times: 1_000_000 };
      await waitFor('pod-b to lead', () => b.isLeader(), 5000, 20);
      expect(kube.lease(NS, 'rollback-guard')!.metadata.annotations['rollback-guard.io/leader-url']).toBe('http://10.0.0.8:8080');
      proxy.fault = { kind: 'pass' };
      await waitFor('pod-a to follow pod-b', () => a.leader() === 'pod-b', 5000, 20);
      expect(a.leaderUrl()).toBe('http://10.0.0.8:8080');
    } finally {
      await proxy.close();
    }
  });

  it('refuses timings where a leader could outlive its lease', () => {
    expect(() => new LeaseElector(serverClients({ server: 'http://127.0.0.1:1' }), { namespace: NS, identity: 'a', leaseDurationMs: 1000, renewDeadlineMs: 1000 })).toThrow(/retryPeriod < renewDeadline < leaseDuration/);
  });

  it('a leader that sees a newer holder in the Lease steps down at once', async () => {
    const { kube } = await standIn();
    const changes: string[] = [];
    const a = elector(kube.url, 'pod-a', changes);
    await a.start();
    expect(a.isLeader()).toBe(true);
    // Someone else wrote the Lease (a partitioned leader's view is stale): a valid lease held by pod-x.
    kube.editLease(NS, 'rollback-guard', (l) => {
      l.spec.holderIdentity = 'pod-x';
      l.spec.renewTime = new Date().toISOString().replace('Z', '000Z');
      l.spec.leaseDurationSeconds = 60;
    });
    await waitFor('pod-a to step down', () => !a.isLeader(), 5000, 20);
    expect(a.leader()).toBe('pod-x');
    expect(changes).toEqual(['pod-a:leading', 'pod-a:following pod-x']);
  });

  it('a conflicting write (409) loses the race: two candidates create the Lease at once, one wins', async () => {
    const { kube } = await standIn();
    const a = elector(kube.url, 'pod-a');
    const b = elector(kube.url, 'pod-b');
    await Promise.all([a.start(), b.start()]);
    expect([a.isLeader(), b.isLeader()].filter(Boolean)).toHaveLength(1);
    // Both saw no Lease and both created one: the API server let one through and answered the other 409.
    const creates = kube.requests.filter((r) => r.rbac?.resource === 'leases' && r.method === 'POST');
    expect(creates.map((r) => r.status).sort()).toEqual([201, 409]);
    expect(kube.lease(NS, 'rollback-guard')!.spec.holderIdentity).toBe(a.isLeader() ? 'pod-a' : 'pod-b');
  });

  it('the takeover does not repeat the rollback: the new leader sees the annotations and skips the same decision', async () => {
    const { kube } = await standIn();
    kube.createDeployment(NS, 'voice-server', 'voice-server:1.0');
    kube.setImage(NS, 'voice-server', 'voice-server:1.1');
    const a = elector(kube.url, 'pod-a');
    await a.start();
    const req = { namespace: NS, deployment: 'voice-server', reason: 'error rate', by: 'rollback-guard', decisionId: 41 };
    const actA = new KubeActuator(serverClients({ server: kube.url }), { mayAct: () => a.isLeader() });
    expect((await actA.rollback(req)).kind).toBe('rolled-back');
    await a.stop(); // pod-a goes away
    const b = elector(kube.url, 'pod-b');
    await b.start();
    expect(b.isLeader()).toBe(true);
    const actB = new KubeActuator(serverClients({ server: kube.url }), { mayAct: () => b.isLeader() });
    expect(await actB.rollback(req)).toMatchObject({ kind: 'skipped' });
    expect(await actB.rollback({ ...req, decisionId: 42 })).toMatchObject({ kind: 'refused', code: 'ping-pong' });
    expect(kube.deploymentWrites()).toHaveLength(1);
  });

  it('a replica that is not the leader never patches', async () => {
    const { kube } = await standIn();
    kube.createDeployment(NS, 'voice-server', 'voice-server:1.0');
    kube.setImage(NS, 'voice-server', 'voice-server:1.1');
    const a = elector(kube.url, 'pod-a');
    const b = elector(kube.url, 'pod-b');
    await a.start();
    await b.start();
    const act = new KubeActuator(serverClients({ server: kube.url }), { mayAct: () => b.isLeader() });
    expect(await act.rollback({ namespace: NS, deployment: 'voice-server', reason: 'x', by: 'rollback-guard' })).toMatchObject({ kind: 'refused', code: 'not-leader' });
    expect(kube.deploymentWrites()).toHaveLength(0);
  });
});
