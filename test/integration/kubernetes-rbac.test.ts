import { describe, expect, it } from 'vitest';
import { DeploymentWatcher } from '../../src/adapters/kubernetes/deployment-watcher.js';
import { KubeActuator } from '../../src/adapters/kubernetes/kube-actuator.js';
import { serverClients } from '../../src/adapters/kubernetes/kube-client.js';
import { LeaseElector } from '../../src/adapters/kubernetes/lease-elector.js';
import { RBAC_RULES, rbacAllows, rbacRole } from '../../src/adapters/kubernetes/rbac.js';
import { KubeEventRecorder } from '../../src/adapters/kubernetes/event-recorder.js';
import { waitFor } from '../helpers/free-port.js';
import { useKubeStandIn } from '../helpers/kube-fixture.js';

const NS = 'voice-production';
const standIn = useKubeStandIn();

describe('RBAC', () => {
  it('every Kubernetes API call the guard makes (watch, rollback, verify, leader election) is granted by RBAC_RULES', async () => {
    const { kube } = await standIn();
    kube.createDeployment(NS, 'voice-server', 'voice-server:1.0');
    kube.setImage(NS, 'voice-server', 'voice-server:1.1');
    const k = serverClients({ server: kube.url });
    const elector = new LeaseElector(k, { namespace: NS, identity: 'pod-a', leaseDurationMs: 1000, renewDeadlineMs: 700, retryPeriodMs: 50 });
    await elector.start();
    await waitFor('a renewal', () => kube.requests.some((r) => r.rbac?.resource === 'leases' && r.rbac.verb === 'update'));
    const watcher = new DeploymentWatcher(k, { targets: [{ namespace: NS, deployment: 'voice-server' }], rewatchDelayMs: 20 });
    await watcher.start(() => {});
    const actuator = new KubeActuator(k, { pollMs: 20, mayAct: () => elector.isLeader() });
    // Events: one created, a repeat folded into its series (a patch).
    const recorder = new KubeEventRecorder(k, { controller: 'rollback-guard.io/rollback-guard', instance: 'pod-a', onError: (err) => expect.fail(err.message) });
    for (let i = 0; i < 2; i++) recorder.record({ namespace: NS, deployment: 'voice-server', type: 'Warning', reason: 'RollbackStarted', action: 'Rollback', note: 'decision 1' });
    await recorder.idle();
    expect(kube.events.all().map((e) => [String(e.reason), Number((e.series as { count?: number } | undefined)?.count)])).toEqual([['RollbackStarted', 2]]);
    expect((await actuator.rollback({ namespace: NS, deployment: 'voice-server', reason: 'x', by: 'rollback-guard', decisionId: 1 })).kind).toBe('rolled-back');
    expect((await actuator.verifyRollout({ namespace: NS, deployment: 'voice-server' }, 2000)).kind).toBe('complete');
    await watcher.stop();
    // A restarted watcher adopting its own rollback lists ReplicaSets too.
    const again = new DeploymentWatcher(k, { targets: [{ namespace: NS, deployment: 'voice-server' }] });
    await again.start(() => {});
    await again.stop();
    await elector.stop();

    const used = new Set(kube.requests.filter((r) => r.rbac).map((r) => `${r.rbac!.group}/${r.rbac!.resource}:${r.rbac!.verb}`));
    expect([...used].sort()).toEqual(['/leases:create', '/leases:get', '/leases:update', 'apps/deployments:get', 'apps/deployments:patch', 'apps/deployments:watch', 'apps/replicasets:list', 'events.k8s.io/events:create', 'events.k8s.io/events:patch'].map((s) => (s.startsWith('/leases') ? `coordination.k8s.io${s}` : s)).sort());
    for (const u of used) {
      const [gr, verb] = u.split(':') as [string, string];
      const [group, resource] = gr.split('/') as [string, string];
      expect(rbacAllows(group, resource, verb), u).toBe(true);
    }
  });

  it('is namespace-scoped and grants nothing beyond deployments, replicasets, leases and events', () => {
    const role = rbacRole(NS) as { kind: string; metadata: { namespace: string }; rules: { resources: string[]; verbs: string[] }[] };
    expect(role.kind).toBe('Role');
    expect(role.metadata.namespace).toBe(NS);
    expect(new Set(role.rules.flatMap((r) => r.resources))).toEqual(new Set(['deployments', 'replicasets', 'leases', 'events']));
    // Events: created and patched (a series), never read, listed, updated or deleted.
    expect(role.rules.filter((r) => r.resources.includes('events')).flatMap((r) => r.verbs).sort()).toEqual(['create', 'patch']);
    expect(RBAC_RULES.flatMap((r) => r.verbs)).not.toContain('delete');
    expect(rbacAllows('apps', 'replicasets', 'patch')).toBe(false);
  });
});
