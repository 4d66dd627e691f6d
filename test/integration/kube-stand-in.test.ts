/* eslint-disable @typescript-eslint/no-unsafe-member-access -- stand-in objects are raw API JSON */
import { AppsV1Api, KubeConfig, PatchStrategy, setHeaderOptions } from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import { kubeCall } from '../../src/adapters/kubernetes/kube-call.js';
import type { KubernetesError } from '../../src/errors/kubernetes-error.js';
import { useKubeStandIn } from '../helpers/kube-fixture.js';

// The stand-in's own contracts, through the real client: if these drift from the API server's, every other
// Kubernetes test would prove nothing.
const NS = 'ns';
const standIn = useKubeStandIn();
// The client's public API (KubeConfig + makeApiClient), not the guard's lean calls: this file tests the stand-in.
const publicApps = (url: string) => {
  const kc = new KubeConfig();
  kc.loadFromClusterAndUser({ name: 'stand-in', server: url, skipTLSVerify: true }, { name: 'test' });
  return kc.makeApiClient(AppsV1Api);
};
const fail = (p: Promise<unknown>) => p.then(() => { throw new Error('expected a failure'); }, (e: unknown) => e as KubernetesError);

describe('Kubernetes API stand-in (through @kubernetes/client-node)', () => {
  it('resourceVersion increments on every write; a stale one is 409 for PUT and in a patched body', async () => {
    const { kube, clients } = await standIn();
    const { apps, timeoutMs } = { apps: publicApps(kube.url), timeoutMs: clients().timeoutMs };
    kube.createDeployment(NS, 'web', 'web:1');
    const d = await apps.readNamespacedDeployment({ name: 'web', namespace: NS });
    const rv = Number(d.metadata!.resourceVersion);
    kube.edit(NS, 'web', (x) => (x.spec.replicas = 5));
    expect(Number(kube.deployment(NS, 'web').metadata.resourceVersion)).toBeGreaterThan(rv);
    const put = await fail(kubeCall('put', timeoutMs, () => apps.replaceNamespacedDeployment({ name: 'web', namespace: NS, body: d })));
    expect(put).toMatchObject({ code: 'RG_K8S_CONFLICT', status: 409 });
    const patch = await fail(kubeCall('patch', timeoutMs, () => apps.patchNamespacedDeployment({ name: 'web', namespace: NS, body: [{ op: 'replace', path: '/metadata/resourceVersion', value: String(rv) }] }, setHeaderOptions('Content-Type', PatchStrategy.JsonPatch))));
    expect(patch.message).toContain('the object has been modified');
  });

  it('JSON patch: a failed `test` is 422 and changes nothing; merge patch merges and null deletes', async () => {
    const { kube, clients } = await standIn();
    const { apps, timeoutMs } = { apps: publicApps(kube.url), timeoutMs: clients().timeoutMs };
    kube.createDeployment(NS, 'web', 'web:1', { annotations: { a: '1', b: '2' } });
    const rv = kube.deployment(NS, 'web').metadata.resourceVersion as string;
    const e = await fail(kubeCall('patch', timeoutMs, () => apps.patchNamespacedDeployment({ name: 'web', namespace: NS, body: [{ op: 'test', path: '/spec/replicas', value: 9 }, { op: 'replace', path: '/spec/replicas', value: 1 }] }, setHeaderOptions('Content-Type', PatchStrategy.JsonPatch))));
    expect(e.status).toBe(422);
    expect(kube.deployment(NS, 'web').metadata.resourceVersion).toBe(rv);
    await apps.patchNamespacedDeployment({ name: 'web', namespace: NS, body: { metadata: { annotations: { a: null, c: '3' } } } }, setHeaderOptions('Content-Type', PatchStrategy.MergePatch));
    expect(kube.deployment(NS, 'web').metadata.annotations).toMatchObject({ b: '2', c: '3' });
    expect(kube.deployment(NS, 'web').metadata.annotations.a).toBeUndefined();
  });

  it('ReplicaSets: label selectors filter, owner references carry the Deployment uid, a reused template bumps the revision', async () => {
    const { kube } = await standIn();
    const apps = publicApps(kube.url);
    kube.createDeployment(NS, 'web', 'web:1');
    kube.createDeployment(NS, 'api', 'api:1');
    kube.setImage(NS, 'web', 'web:2');
    kube.setImage(NS, 'web', 'web:1');
    const list = await apps.listNamespacedReplicaSet({ namespace: NS, labelSelector: 'app=web' });
    const uid = kube.deployment(NS, 'web').metadata.uid as string;
    expect(list.items.map((r) => [r.spec!.template!.spec!.containers[0]!.image, r.metadata!.annotations!['deployment.kubernetes.io/revision'], r.metadata!.ownerReferences![0]!.uid])).toEqual([
      ['web:1', '3', uid],
      ['web:2', '2', uid],
    ]);
    expect((await apps.listNamespacedReplicaSet({ namespace: NS, labelSelector: 'app!=web' })).items).toHaveLength(1);
  });

  it('faults: 403 is RG_K8S_FORBIDDEN naming RBAC; a hung call is RG_K8S_TIMEOUT; 404 is RG_K8S_NOT_FOUND', async () => {
    const { kube } = await standIn();
    const { apps, timeoutMs } = { apps: publicApps(kube.url), timeoutMs: 200 };
    kube.createDeployment(NS, 'web', 'web:1');
    kube.fault({ status: 403, times: 1 });
    expect(await fail(kubeCall('get', timeoutMs, () => apps.readNamespacedDeployment({ name: 'web', namespace: NS })))).toMatchObject({ code: 'RG_K8S_FORBIDDEN', message: expect.stringContaining('see RBAC in the README') });
    kube.fault({ hang: true, times: 1 });
    expect(await fail(kubeCall('get', timeoutMs, () => apps.readNamespacedDeployment({ name: 'web', namespace: NS })))).toMatchObject({ code: 'RG_K8S_TIMEOUT' });
    expect(await fail(kubeCall('get', timeoutMs, () => apps.readNamespacedDeployment({ name: 'nope', namespace: NS })))).toMatchObject({ code: 'RG_K8S_NOT_FOUND' });
  });
});
