/* eslint-disable @typescript-eslint/no-unsafe-member-access -- stand-in objects are raw API JSON */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { afterEach, describe, expect, it } from 'vitest';
import { DeploymentWatcher } from '../../src/adapters/kubernetes/deployment-watcher.js';
import { KubeActuator } from '../../src/adapters/kubernetes/kube-actuator.js';
import { serverClients } from '../../src/adapters/kubernetes/kube-client.js';
import type { ObservedRelease } from '../../src/ports/release-source.js';
import { waitFor } from '../helpers/free-port.js';
import { useKubeStandIn } from '../helpers/kube-fixture.js';
import { useTempDir } from '../helpers/temp-dir.js';

const NS = 'voice-production';
const standIn = useKubeStandIn();
const tmp = useTempDir();
const run = promisify(execFile);
const watchers: DeploymentWatcher[] = [];
afterEach(async () => {
  for (const w of watchers.splice(0)) await w.stop();
});

async function watching(url: string, targets: string[], extra: Partial<ConstructorParameters<typeof DeploymentWatcher>[1]> = {}) {
  const seen: ObservedRelease[] = [];
  const w = new DeploymentWatcher(serverClients({ server: url, timeoutMs: 1000 }), { targets: targets.map((deployment) => ({ namespace: NS, deployment })), relistMs: 60_000, rewatchDelayMs: 50, ...extra });
  watchers.push(w);
  await w.start((r) => void seen.push(r));
  return { w, seen };
}

describe('DeploymentWatcher (release detection)', () => {
  it('adopts the current revision at start, then reports each advance with images, change cause and severity', async () => {
    const { kube } = await standIn();
    kube.createDeployment(NS, 'voice-server', 'voice-server:1.0');
    const { seen } = await watching(kube.url, ['voice-server']);
    expect(seen).toEqual([expect.objectContaining({ revision: '1', adopted: true, kind: 'release', severity: 'minor' })]);
    const before = Date.now();
    kube.setImage(NS, 'voice-server', 'voice-server:1.1', { annotations: { 'kubernetes.io/change-cause': 'release 1.1', 'rollback-guard.io/severity': 'major' } });
    await waitFor('revision 2', () => seen.length === 2);
    expect(seen[1]).toMatchObject({ namespace: NS, deployment: 'voice-server', revision: '2', images: ['voice-server:1.1'], changeCause: 'release 1.1', severity: 'major', kind: 'release', adopted: false });
    expect(seen[1]!.startedAt).toBeGreaterThanOrEqual(before);
    kube.setImage(NS, 'voice-server', 'voice-server:1.2', { annotations: { 'rollback-guard.io/severity': 'urgent' } });
    await waitFor('revision 3', () => seen.length === 3);
    expect(seen[2]).toMatchObject({ severity: 'minor', severityProblem: expect.stringContaining('"urgent" is not one of hotfix, minor, major, infrastructure') });
  });

  it('several targets at once; a scale (no new revision) is not a release', async () => {
    const { kube } = await standIn();
    kube.createDeployment(NS, 'voice-server', 'voice-server:1.0');
    kube.createDeployment(NS, 'voice-server-canary', 'voice-server:1.0');
    const { seen } = await watching(kube.url, ['voice-server', 'voice-server-canary']);
    kube.edit(NS, 'voice-server', (d) => (d.spec.replicas = 9));
    kube.setImage(NS, 'voice-server-canary', 'voice-server:2.0');
    await waitFor('the canary release', () => seen.some((r) => r.deployment === 'voice-server-canary' && r.revision === '2'));
    expect(seen.filter((r) => !r.adopted).map((r) => `${r.deployment}@${r.revision}`)).toEqual(['voice-server-canary@2']);
  });

  it("recognises the guard's own rollback (post-rollback verification), and a person's undo as a release", async () => {
    const { kube } = await standIn();
    kube.createDeployment(NS, 'voice-server', 'voice-server:1.0');
    kube.setImage(NS, 'voice-server', 'voice-server:1.1');
    const { seen } = await watching(kube.url, ['voice-server']);
    await new KubeActuator(serverClients({ server: kube.url })).rollback({ namespace: NS, deployment: 'voice-server', reason: 'errors', by: 'rollback-guard', decisionId: 5 });
    await waitFor('revision 3', () => seen.some((r) => r.revision === '3'));
    expect(seen.at(-1)).toMatchObject({ revision: '3', kind: 'own-rollback', images: ['voice-server:1.0'] });
    kube.setImage(NS, 'voice-server', 'voice-server:1.2');
    await waitFor('revision 4', () => seen.some((r) => r.revision === '4'));
    expect(seen.at(-1)).toMatchObject({ revision: '4', kind: 'release' });
  });

  it("a person's real `kubectl rollout undo` after the guard's rollback is a release, though the ReplicaSet carries the guard's annotations", async () => {
    const { kube } = await standIn();
    kube.createDeployment(NS, 'voice-server', 'voice-server:1.0');
    kube.setImage(NS, 'voice-server', 'voice-server:1.1');
    const { seen } = await watching(kube.url, ['voice-server']);
    await new KubeActuator(serverClients({ server: kube.url })).rollback({ namespace: NS, deployment: 'voice-server', reason: 'errors', by: 'rollback-guard', decisionId: 5 });
    kube.setImage(NS, 'voice-server', 'voice-server:1.2');
    await waitFor('revision 4', () => seen.some((r) => r.revision === '4'));
    const rs = kube.replicaSets(NS).find((r) => r.spec.template.spec.containers[0].image === 'voice-server:1.0')!;
    expect(rs.metadata.annotations['rollback-guard.io/rolled-back-from-revision']).toBe('2'); // copied by the controller
    const kubectl = process.env.KUBECTL_BIN ?? 'kubectl';
    await run(kubectl, ['--kubeconfig=/dev/null', `--server=${kube.url}`, `--cache-dir=${tmp()}`, '--request-timeout=10s', '-n', NS, 'rollout', 'undo', 'deployment/voice-server']).catch((err: NodeJS.ErrnoException) => {
      throw new Error(err.code === 'ENOENT' ? `${kubectl} not found: install kubectl (Debian: apt-get install kubernetes-client; .ci/run does) or set KUBECTL_BIN` : String(err));
    });
    await waitFor('revision 5', () => seen.some((r) => r.revision === '5'));
    expect(seen.map((r) => [r.revision, r.kind])).toEqual([['2', 'release'], ['3', 'own-rollback'], ['4', 'release'], ['5', 'release']]);
    expect(seen.at(-1)!.images).toEqual(['voice-server:1.0']); // undo from revision 4 goes to revision 3's template
  });

  it('after a restart: adopts the release in progress with the start the decision log knows, and its own rollback as such', async () => {
    const { kube } = await standIn();
    kube.createDeployment(NS, 'voice-server', 'voice-server:1.0');
    kube.setImage(NS, 'voice-server', 'voice-server:1.1');
    const known = Date.parse('2026-11-20T14:00:00Z');
    const { seen, w } = await watching(kube.url, ['voice-server'], { knownRelease: (_ref, rev) => (rev === '2' ? { startedAt: known, outcome: null } : undefined) });
    expect(seen).toEqual([expect.objectContaining({ revision: '2', adopted: true, startedAt: known, kind: 'release' })]);
    expect(seen[0]).not.toHaveProperty('ended');
    await w.stop();
    // Its release already ended in the decision log: said, so the daemon does not guard it a second time.
    const ended = await watching(kube.url, ['voice-server'], { knownRelease: () => ({ startedAt: known, outcome: 'rolled-back' }) });
    expect(ended.seen).toEqual([expect.objectContaining({ revision: '2', adopted: true, ended: 'rolled-back' })]);
    await ended.w.stop();
    await new KubeActuator(serverClients({ server: kube.url })).rollback({ namespace: NS, deployment: 'voice-server', reason: 'errors', by: 'rollback-guard' });
    const after = await watching(kube.url, ['voice-server']);
    const progressing = kube.deployment(NS, 'voice-server').status.conditions[0].lastUpdateTime as string;
    expect(after.seen).toEqual([expect.objectContaining({ revision: '3', adopted: true, kind: 'own-rollback', startedAt: Date.parse(progressing) })]);
  });

  it('a dropped watch cannot hide a release: the watch is re-opened and the Deployment re-read', async () => {
    const { kube } = await standIn();
    kube.createDeployment(NS, 'voice-server', 'voice-server:1.0');
    const { seen } = await watching(kube.url, ['voice-server']);
    await waitFor('the watch', () => kube.watchCount() === 1);
    kube.fault({ method: 'GET', path: /deployments$/, status: 500, times: 1 }); // the first re-watch fails too
    kube.dropWatches();
    kube.setImage(NS, 'voice-server', 'voice-server:1.1'); // while no watch is open
    await waitFor('revision 2', () => seen.some((r) => r.revision === '2'));
    expect(seen.at(-1)).toMatchObject({ revision: '2', adopted: true, kind: 'release' });
    await waitFor('the watch re-opened', () => kube.watchCount() === 1);
    kube.setImage(NS, 'voice-server', 'voice-server:1.2');
    await waitFor('revision 3', () => seen.some((r) => r.revision === '3'));
    expect(seen.at(-1)).toMatchObject({ revision: '3', adopted: false });
  });

  it('the periodic relist catches a release the watch never delivered', async () => {
    const { kube } = await standIn();
    kube.createDeployment(NS, 'voice-server', 'voice-server:1.0');
    const errors: string[] = [];
    const { seen } = await watching(kube.url, ['voice-server'], { relistMs: 100, onError: (e) => errors.push(e.code) });
    // A watch that stays open but delivers nothing (a silent proxy): simulated by never opening one again.
    kube.fault({ method: 'GET', path: /deployments$/, hang: true });
    kube.dropWatches();
    kube.setImage(NS, 'voice-server', 'voice-server:1.1');
    await waitFor('revision 2 from the relist', () => seen.some((r) => r.revision === '2'));
  });
});
