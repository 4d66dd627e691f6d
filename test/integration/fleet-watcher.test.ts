// Fleets at the Kubernetes API: the watcher's label-selector list and watch (one per `select:`), against the
// stand-in, which sends a label-selector watch ADDED when an object gains the labels and DELETED when it loses them
// or is deleted, as the API server does.
import { afterEach, describe, expect, it } from 'vitest';
import { DeploymentWatcher } from '../../src/adapters/kubernetes/deployment-watcher.js';
import { rbacAllows } from '../../src/adapters/kubernetes/rbac.js';
import type { ObservedRelease, TargetChange } from '../../src/ports/release-source.js';
import { waitFor } from '../helpers/free-port.js';
import { useKubeStandIn } from '../helpers/kube-fixture.js';

const standIn = useKubeStandIn();
const watchers: DeploymentWatcher[] = [];
afterEach(async () => {
  for (const w of watchers.splice(0)) await w.stop();
});
const GUARD = { 'rollback-guard.io/guard': 'true' };

describe('DeploymentWatcher: fleets selected by label', () => {
  it('reports Deployments as they appear, gain or lose the labels and are deleted, each before its releases', async () => {
    const { kube, clients } = await standIn();
    kube.createDeployment('shop', 'api', 'api:1', { labels: GUARD });
    kube.createDeployment('shop', 'db', 'db:1');
    kube.createDeployment('other', 'api', 'api:1', { labels: GUARD }); // another namespace: not this selection's
    const events: string[] = [];
    const w = new DeploymentWatcher(clients(), { targets: [], selections: [{ id: 'fleet.yaml', namespace: 'shop', labelSelector: 'rollback-guard.io/guard=true' }], rewatchDelayMs: 50 });
    watchers.push(w);
    await w.start(
      (r: ObservedRelease) => void events.push(`release ${r.namespace}/${r.deployment} ${r.revision}${r.adopted ? ' adopted' : ''}`),
      (c: TargetChange) => void events.push(`${c.kind} ${c.namespace}/${c.deployment} by ${c.selection}`),
    );
    expect(events).toEqual(['added shop/api by fleet.yaml', 'release shop/api 1 adopted']);

    kube.setImage('shop', 'api', 'api:2');
    kube.createDeployment('shop', 'search', 'search:1', { labels: GUARD });
    kube.setLabels('shop', 'db', { app: 'db', ...GUARD });
    await waitFor('three more', () => events.length >= 7);
    kube.setLabels('shop', 'db', { app: 'db' });
    kube.deleteDeployment('shop', 'search');
    await waitFor('both gone', () => events.length >= 9);
    expect(events.slice(2)).toEqual([
      'release shop/api 2',
      'added shop/search by fleet.yaml',
      'release shop/search 1 adopted',
      'added shop/db by fleet.yaml',
      'release shop/db 1 adopted',
      'removed shop/db by fleet.yaml',
      'removed shop/search by fleet.yaml',
    ]);
    // One list and one watch for the whole selection, with its label selector; nothing per Deployment.
    const deploymentCalls = kube.requests.filter((r) => r.rbac?.resource === 'deployments');
    expect(deploymentCalls.every((r) => r.query.get('labelSelector') === 'rollback-guard.io/guard=true')).toBe(true);
    expect(deploymentCalls.filter((r) => r.rbac?.verb === 'watch')).toHaveLength(1);
  });

  it('every namespace: a cluster-scoped list and watch; a relist after a dropped watch reconciles what it missed', async () => {
    const { kube, clients } = await standIn();
    kube.createDeployment('shop', 'api', 'api:1', { labels: GUARD });
    kube.createDeployment('edge', 'api', 'api:1', { labels: GUARD });
    const changes: string[] = [];
    const w = new DeploymentWatcher(clients(), { targets: [], selections: [{ id: 'fleet.yaml', labelSelector: 'rollback-guard.io/guard=true' }], rewatchDelayMs: 200 });
    watchers.push(w);
    await w.start(() => {}, (c) => void changes.push(`${c.kind} ${c.namespace}/${c.deployment}`));
    expect(changes.sort()).toEqual(['added edge/api', 'added shop/api']);
    expect(kube.requests.filter((r) => r.rbac?.resource === 'deployments').every((r) => r.path === '/apis/apps/v1/deployments')).toBe(true);
    // The watch drops; meanwhile one Deployment is deleted and another created: the relist on re-watch sees both.
    kube.dropWatches();
    kube.deleteDeployment('edge', 'api');
    kube.createDeployment('ops', 'batch', 'batch:1', { labels: GUARD });
    await waitFor('reconciled', () => changes.length === 4, 5000);
    expect(changes.slice(2).sort()).toEqual(['added ops/batch', 'removed edge/api']);
    // Every call is one the chart grants (cluster-wide: the same verbs in a ClusterRole).
    for (const r of kube.requests.filter((x) => x.rbac)) expect(rbacAllows(r.rbac!.group, r.rbac!.resource, r.rbac!.verb), `${r.rbac!.resource}:${r.rbac!.verb}`).toBe(true);
  });
});
