// The guard's Kubernetes access without the client's KubeConfig (ADR 0008): its seven calls send exactly what the
// client's public API sends, in-cluster access verifies TLS and re-reads a rotated token, and with no access at
// all the error says what is missing.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { AppsV1Api, CoordinationV1Api, EventsV1Api, KubeConfig, PatchStrategy, setHeaderOptions, V1MicroTime, type EventsV1Event, type V1Lease } from '@kubernetes/client-node';
import { afterEach, describe, expect, it } from 'vitest';
import { inClusterAccess, TokenFileAccess } from '../../src/adapters/kubernetes/kube-access.js';
import { kubeCall } from '../../src/adapters/kubernetes/kube-call.js';
import { clientsFor, kubeClients, serverClients } from '../../src/adapters/kubernetes/kube-client.js';
import { DeploymentWatcher } from '../../src/adapters/kubernetes/deployment-watcher.js';
import type { KubernetesError } from '../../src/errors/kubernetes-error.js';
import { waitFor } from '../helpers/free-port.js';
import { KubeStandIn, type RecordedRequest } from '../helpers/kube-stand-in.js';

const NS = 'voice-production';
const TLS = path.resolve('test/fixtures/tls');
const tls = { key: fs.readFileSync(`${TLS}/server-key.pem`), cert: fs.readFileSync(`${TLS}/server-cert.pem`) };
const started: KubeStandIn[] = [];
const cleanups: (() => void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0)) c();
  for (const s of started.splice(0)) await s.stop();
});
async function standIn(opts: Parameters<KubeStandIn['start']>[0] = {}): Promise<KubeStandIn> {
  const kube = await new KubeStandIn().start(opts);
  started.push(kube);
  return kube;
}
// The stand-in's objects are raw JSON.
const leaseVersion = (kube: KubeStandIn, name: string): string => (kube.lease(NS, name) as { metadata: { resourceVersion: string } }).metadata.resourceVersion;
const tmp = () => fs.mkdtempSync(path.join(os.tmpdir(), 'rollback-guard-kube-access-'));
const fail = (p: Promise<unknown>) => p.then(() => { throw new Error('expected a failure'); }, (e: unknown) => e as KubernetesError);
const kubeEvent = (name: string): EventsV1Event => ({
  metadata: { name, namespace: NS },
  eventTime: new V1MicroTime(Date.parse('2026-12-07T10:00:00Z')),
  type: 'Warning',
  reason: 'RollbackStarted',
  action: 'Rollback',
  note: 'decision 1',
  regarding: { apiVersion: 'apps/v1', kind: 'Deployment', namespace: NS, name: 'voice-server' },
  reportingController: 'rollback-guard.io/rollback-guard',
  reportingInstance: 'pod-a',
});
const lease = (name: string, holder: string, rv?: string): V1Lease => ({
  metadata: { name, namespace: NS, ...(rv ? { resourceVersion: rv } : {}) },
  spec: { holderIdentity: holder, leaseDurationSeconds: 15, renewTime: new V1MicroTime(Date.UTC(2026, 10, 25, 4, 0, 0, 123)) },
});

describe("the guard's Kubernetes calls", () => {
  it('send the same requests as the client public API and return the same objects', async () => {
    const kube = await standIn();
    kube.createDeployment(NS, 'voice-server', 'voice-server:1.0');
    kube.setImage(NS, 'voice-server', 'voice-server:1.1');
    const kc = new KubeConfig();
    kc.loadFromClusterAndUser({ name: 's', server: kube.url, skipTLSVerify: true }, { name: 'u' });
    const pub = { apps: kc.makeApiClient(AppsV1Api), coordination: kc.makeApiClient(CoordinationV1Api), events: kc.makeApiClient(EventsV1Api) };
    const lean = serverClients({ server: kube.url });
    const patch = [{ op: 'replace', path: '/metadata/annotations', value: { 'kubernetes.io/change-cause': 'x' } }];

    // Each call made through both, the public client on lease rg-pub and ours on rg-lean; the stand-in records what
    // arrived, and the two must match once the lease name is set aside.
    type Clients = typeof pub | typeof lean;
    const calls: [string, (c: Clients, lease: string) => Promise<unknown>][] = [
      ['read deployment', (c) => c.apps.readNamespacedDeployment({ name: 'voice-server', namespace: NS })],
      ['list replicasets', (c) => c.apps.listNamespacedReplicaSet({ namespace: NS, labelSelector: 'app=voice-server' })],
      ['json patch deployment', (c) => c.apps.patchNamespacedDeployment({ name: 'voice-server', namespace: NS, body: patch }, setHeaderOptions('Content-Type', PatchStrategy.JsonPatch))],
      // Merge patch: the content type comes from setHeaderOptions' middleware (JSON patch is the client's default).
      ['merge patch deployment', (c) => c.apps.patchNamespacedDeployment({ name: 'voice-server', namespace: NS, body: { metadata: { labels: { tier: 'voice' } } } }, setHeaderOptions('Content-Type', PatchStrategy.MergePatch))],
      ['create lease', (c, name) => c.coordination.createNamespacedLease({ namespace: NS, body: lease(name, 'a') })],
      ['read lease', (c, name) => c.coordination.readNamespacedLease({ name, namespace: NS })],
      ['replace lease', (c, name) => c.coordination.replaceNamespacedLease({ name, namespace: NS, body: lease(name, 'b', leaseVersion(kube, name)) })],
      ['create event', (c, name) => c.events.createNamespacedEvent({ namespace: NS, body: kubeEvent(name) })],
      ['merge patch event', (c, name) => c.events.patchNamespacedEvent({ name, namespace: NS, body: { series: { count: 2, lastObservedTime: new V1MicroTime(Date.parse('2026-12-07T10:00:01Z')) } } }, setHeaderOptions('Content-Type', PatchStrategy.MergePatch))],
    ];
    // The stand-in stores a created body as it is, so the recorded one gains the fields it sets: strip them.
    const view = (r: RecordedRequest, name: string) => strip({ method: r.method, path: r.path, query: r.query.toString(), contentType: r.contentType, body: r.body }, name);
    const strip = (o: unknown, name: string) => JSON.parse(JSON.stringify(o, (k, v: unknown) => (['resourceVersion', 'generation', 'uid', 'creationTimestamp'].includes(k) ? undefined : v)).replaceAll(name, 'LEASE')) as unknown;
    for (const [what, call] of calls) {
      const a = await call(pub, 'rg-pub');
      const ra = kube.requests.at(-1)!;
      const b = await call(lean, 'rg-lean');
      const rb = kube.requests.at(-1)!;
      expect(view(rb, 'rg-lean'), what).toEqual(view(ra, 'rg-pub'));
      if (!what.includes('patch')) expect(strip(b, 'rg-lean'), what).toEqual(strip(a, 'rg-pub'));
    }
    // Errors come back as the client's ApiException with the status, for kubeCall to classify.
    const stale = String(Number(leaseVersion(kube, 'rg-lean')) - 1);
    const e = await fail(kubeCall('replace', 1000, (o) => lean.coordination.replaceNamespacedLease({ name: 'rg-lean', namespace: NS, body: lease('rg-lean', 'c', stale) }, o)));
    expect(e).toMatchObject({ code: 'RG_K8S_CONFLICT', status: 409 });
  });
});

describe('in-cluster access', () => {
  function serviceAccount(token: string, ca = `${TLS}/server-cert.pem`): string {
    const dir = tmp();
    fs.writeFileSync(path.join(dir, 'token'), token);
    fs.copyFileSync(ca, path.join(dir, 'ca.crt'));
    return dir;
  }
  const podEnv = (url: string) => ({ KUBERNETES_SERVICE_HOST: '127.0.0.1', KUBERNETES_SERVICE_PORT: new URL(url).port });

  it('reaches the API server over TLS with the service account CA and token, for calls and for the watch', async () => {
    const token = 'token-1';
    const kube = await standIn({ tls, token: () => token });
    kube.createDeployment(NS, 'voice-server', 'voice-server:1.0');
    const dir = serviceAccount(token);
    const access = inClusterAccess(podEnv(kube.url), dir)!;
    expect(access.getCurrentCluster().server).toBe(kube.url);
    const k = clientsFor(access, 2000);
    const d = await kubeCall('get', 2000, (o) => k.apps.readNamespacedDeployment({ name: 'voice-server', namespace: NS }, o));
    expect(d.spec!.template.spec!.containers[0]!.image).toBe('voice-server:1.0');
    const seen: string[] = [];
    const w = new DeploymentWatcher(k, { targets: [{ namespace: NS, deployment: 'voice-server' }], rewatchDelayMs: 50 });
    cleanups.push(() => void w.stop());
    await w.start((r) => void seen.push(r.revision));
    await waitFor('the watch to open', () => kube.watchCount() === 1);
    kube.setImage(NS, 'voice-server', 'voice-server:1.1');
    await waitFor('the release seen through the TLS watch', () => seen.includes('2'));
    expect(new Set(kube.authorizations)).toEqual(new Set(['Bearer token-1']));
  });

  it('refuses a server whose certificate the service account CA did not sign', async () => {
    const kube = await standIn({ tls });
    const k = clientsFor(inClusterAccess(podEnv(kube.url), serviceAccount('t', `${TLS}/other-cert.pem`))!, 2000);
    const e = await fail(kubeCall('get deployment', 2000, (o) => k.apps.readNamespacedDeployment({ name: 'x', namespace: NS }, o)));
    expect(e.code).toBe('RG_K8S_UNREACHABLE');
    expect(e.message).toMatch(/certificate/i);
    expect(kube.requests).toHaveLength(0);
  });

  it('re-reads a rotated token file once a minute, as client-go does', async () => {
    let token = 'old';
    const kube = await standIn({ token: () => token });
    kube.createDeployment(NS, 'voice-server', 'voice-server:1.0');
    const dir = serviceAccount('old');
    let now = 0;
    const k = clientsFor(new TokenFileAccess({ server: kube.url, tokenFile: path.join(dir, 'token'), now: () => now }), 2000);
    const get = () => kubeCall('get', 2000, (o) => k.apps.readNamespacedDeployment({ name: 'voice-server', namespace: NS }, o));
    await get();
    token = 'new';
    fs.writeFileSync(path.join(dir, 'token'), 'new');
    now = 59_000;
    expect((await fail(get())).status).toBe(401); // still the token read a minute ago
    now = 60_000;
    await get();
    expect(kube.authorizations).toEqual(['Bearer old', 'Bearer old', 'Bearer new']);
  });

  it('is only used in a pod: the env names the service and the token file exists', () => {
    expect(inClusterAccess({}, serviceAccount('t'))).toBeUndefined();
    expect(inClusterAccess({ KUBERNETES_SERVICE_HOST: '10.0.0.1', KUBERNETES_SERVICE_PORT: '443' }, tmp())).toBeUndefined();
    expect(inClusterAccess({ KUBERNETES_SERVICE_HOST: 'fd00::1', KUBERNETES_SERVICE_PORT: '443' }, serviceAccount('t'))!.getCurrentCluster().server).toBe('https://[fd00::1]:443');
  });
});

describe('kubeconfig access (outside a pod)', () => {
  it('reads KUBECONFIG through the client KubeConfig, token included', async () => {
    const kube = await standIn({ token: () => 'kc-token' });
    kube.createDeployment(NS, 'voice-server', 'voice-server:1.0');
    const file = path.join(tmp(), 'config');
    fs.writeFileSync(
      file,
      `apiVersion: v1\nkind: Config\ncurrent-context: t\nclusters: [{ name: c, cluster: { server: '${kube.url}', insecure-skip-tls-verify: true } }]\nusers: [{ name: u, user: { token: kc-token } }]\ncontexts: [{ name: t, context: { cluster: c, user: u } }]\n`,
    );
    const k = await kubeClients({ timeoutMs: 2000 }, { KUBECONFIG: file });
    expect(k.server).toBe(kube.url);
    const d = await kubeCall('get', 2000, (o) => k.apps.readNamespacedDeployment({ name: 'voice-server', namespace: NS }, o));
    expect(d.metadata!.name).toBe('voice-server');
  });

  it('with no pod, no KUBECONFIG and no ~/.kube/config, fails naming what is missing (not localhost:8080)', async () => {
    const home = tmp();
    const e = await fail(kubeClients({}, { HOME: home }));
    expect(e.code).toBe('RG_K8S_CONFIG');
    expect(e.message).toContain(`KUBECONFIG is not set and ${home}/.kube/config does not exist`);
    expect((await fail(kubeClients({}, { KUBECONFIG: path.join(home, 'nope') }))).code).toBe('RG_K8S_CONFIG');
  });

  it('an explicit server must be a URL, and its token file readable: said about what was given, not about KUBECONFIG', async () => {
    const notUrl = await fail(kubeClients({ server: 'kube.local:6443' }));
    expect(notUrl.message).toBe('--kube-server "kube.local:6443" is not a URL; write it like https://10.0.0.1:6443 or http://127.0.0.1:8001 (kubectl proxy)');
    const missing = path.join(tmp(), 'not-mounted');
    const noToken = await fail(kubeClients({ server: 'https://10.0.0.1:6443', tokenFile: missing }));
    expect(noToken).toMatchObject({ code: 'RG_K8S_CONFIG', message: `cannot read the Kubernetes token file ${missing} (ENOENT); check ROLLBACK_GUARD_KUBE_TOKEN_FILE and that the file is mounted and readable` });
  });
});
