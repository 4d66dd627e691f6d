/* eslint-disable @typescript-eslint/no-unsafe-member-access, @typescript-eslint/no-unsafe-return -- stand-in objects are raw API JSON */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { canonical } from '../../src/adapters/kubernetes/deployment-facts.js';
import { KubeActuator } from '../../src/adapters/kubernetes/kube-actuator.js';
import { serverClients } from '../../src/adapters/kubernetes/kube-client.js';
import { REVISION, type Obj } from '../helpers/kube-stand-in.js';
import { waitFor } from '../helpers/free-port.js';
import { useKubeStandIn } from '../helpers/kube-fixture.js';
import { useTempDir } from '../helpers/temp-dir.js';

const NS = 'voice-production';
const NAME = 'voice-server';
const ref = { namespace: NS, deployment: NAME };
const req = { ...ref, reason: 'error-rate-critical = 0.08 > 0.05', by: 'rollback-guard', decisionId: 7 };
const standIn = useKubeStandIn();
const tmp = useTempDir();
const run = promisify(execFile);

async function threeRevisions() {
  const s = await standIn();
  s.kube.createDeployment(NS, NAME, 'voice-server:1.0');
  s.kube.setImage(NS, NAME, 'voice-server:1.1');
  s.kube.setImage(NS, NAME, 'voice-server:1.2');
  s.kube.setImage(NS, NAME, 'voice-server:1.3');
  return { ...s, actuator: new KubeActuator(s.clients(), { retryDelayMs: 10, pollMs: 20 }) };
}
const image = (d: Obj): string => d.spec.template.spec.containers[0].image;

describe('rollback like kubectl rollout undo', () => {
  it('goes back to the highest revision below the current one (4 revisions), annotates, and the controller makes it revision 5', async () => {
    const { kube, actuator } = await threeRevisions();
    const out = await actuator.rollback(req);
    expect(out).toEqual({ kind: 'rolled-back', fromRevision: '4', toRevision: '3', images: ['voice-server:1.2'] });
    const d = kube.deployment(NS, NAME);
    expect(image(d)).toBe('voice-server:1.2');
    expect(d.metadata.annotations).toMatchObject({
      [REVISION]: '5',
      'rollback-guard.io/rolled-back-by': 'rollback-guard',
      'rollback-guard.io/decision-id': '7',
      'rollback-guard.io/rollback-reason': req.reason,
      'rollback-guard.io/rolled-back-from-revision': '4',
    });
    expect(d.spec.template.metadata.labels['pod-template-hash']).toBeUndefined();
    const patch = kube.deploymentWrites()[0]!;
    expect(patch.contentType).toBe('application/json-patch+json');
    expect(patch.body).toContainEqual({ op: 'replace', path: '/metadata/resourceVersion', value: expect.any(String) });
  });

  it('differential: kubectl rollout undo and the guard leave the same Deployment spec from the same state', async () => {
    const guard = await threeRevisions();
    const kubectl = await threeRevisions();
    await guard.actuator.rollback(req);
    const cache = tmp();
    // kubectl must be on PATH: CI installs it (.ci/run); a missing kubectl fails here, with the reason.
    const kubectlBin = process.env.KUBECTL_BIN ?? 'kubectl';
    const r = await run(kubectlBin, ['--kubeconfig=/dev/null', `--server=${kubectl.kube.url}`, `--cache-dir=${cache}`, '--request-timeout=10s', '-n', NS, 'rollout', 'undo', `deployment/${NAME}`], { encoding: 'utf8' }).catch((err: NodeJS.ErrnoException) => {
      throw new Error(err.code === 'ENOENT' ? `${kubectlBin} not found: install kubectl (Debian: apt-get install kubernetes-client; .ci/run does) or set KUBECTL_BIN, for the differential test` : String(err));
    });
    expect(r.stdout).toContain('rolled back');
    const a = guard.kube.deployment(NS, NAME);
    const b = kubectl.kube.deployment(NS, NAME);
    // kubectl serialises Go zero values (creationTimestamp: null, resources: {}); the API server drops them too.
    expect(canonical(a.spec)).toBe(canonical(b.spec));
    expect(a.metadata.annotations[REVISION]).toBe(b.metadata.annotations[REVISION]);
    expect(image(a)).toBe('voice-server:1.2');
  });

  it('a human edit racing the patch: 409, re-read, re-decide: refused when the revision moved, never clobbered', async () => {
    const { kube, actuator } = await threeRevisions();
    kube.beforeNext('PATCH', /deployments\/voice-server$/, () => kube.setImage(NS, NAME, 'voice-server:1.4-hotfix'));
    const out = await actuator.rollback({ ...req, expectedRevision: '4' });
    expect(out).toMatchObject({ kind: 'refused', code: 'changed-since-decision' });
    expect(image(kube.deployment(NS, NAME))).toBe('voice-server:1.4-hotfix');
    expect(kube.requests.filter((r) => r.method === 'PATCH').length).toBe(1);
  });

  it('a human scale racing the patch: 409, re-decided, rolled back, and the human replicas kept', async () => {
    const { kube, actuator } = await threeRevisions();
    kube.beforeNext('PATCH', /deployments\/voice-server$/, () => kube.edit(NS, NAME, (d) => (d.spec.replicas = 12)));
    const out = await actuator.rollback({ ...req, expectedRevision: '4' });
    expect(out).toMatchObject({ kind: 'rolled-back', fromRevision: '4', toRevision: '3' });
    const d = kube.deployment(NS, NAME);
    expect(d.spec.replicas).toBe(12);
    expect(image(d)).toBe('voice-server:1.2');
    expect(kube.requests.filter((r) => r.method === 'PATCH').length).toBe(2);
  });

  it('refuses a paused Deployment and one annotated rollback-guard.io/paused', async () => {
    const { kube, actuator } = await threeRevisions();
    kube.edit(NS, NAME, (d) => (d.spec.paused = true));
    expect(await actuator.rollback(req)).toMatchObject({ kind: 'refused', code: 'paused' });
    kube.edit(NS, NAME, (d) => {
      d.spec.paused = false;
      d.metadata.annotations['rollback-guard.io/paused'] = 'true';
    });
    expect(await actuator.rollback(req)).toMatchObject({ kind: 'refused', code: 'guard-paused' });
    expect(kube.deploymentWrites().filter((w) => w.method === 'PATCH')).toHaveLength(0);
  });

  it('ping-pong: after its rollback, a second rollback into the reverted template is refused', async () => {
    const { kube, actuator } = await threeRevisions();
    expect((await actuator.rollback(req)).kind).toBe('rolled-back');
    const out = await actuator.rollback({ ...req, decisionId: 8 });
    expect(out).toMatchObject({ kind: 'refused', code: 'ping-pong' });
    expect(image(kube.deployment(NS, NAME))).toBe('voice-server:1.2');
  });

  it('the same decision twice (a new leader retrying it) is skipped: the annotation says it was done', async () => {
    const { kube, actuator } = await threeRevisions();
    await actuator.rollback(req);
    expect(await actuator.rollback(req)).toMatchObject({ kind: 'skipped', reason: expect.stringContaining('decision 7 was already carried out') });
    expect(kube.deploymentWrites()).toHaveLength(1);
  });

  it('GitOps re-applies the bad template after the rollback: refused, not looped', async () => {
    const { kube, actuator } = await threeRevisions();
    await actuator.rollback(req);
    kube.setImage(NS, NAME, 'voice-server:1.3'); // auto-sync puts the reverted template back: revision 6
    expect(kube.deployment(NS, NAME).metadata.annotations[REVISION]).toBe('6');
    expect(await actuator.rollback({ ...req, decisionId: 9 })).toMatchObject({ kind: 'refused', code: 'gitops-reapplied' });
    expect(image(kube.deployment(NS, NAME))).toBe('voice-server:1.3');
  });

  it('one automatic rollback per release; a person may still roll back', async () => {
    const { kube } = await threeRevisions();
    const counted = new KubeActuator(kubeClientsFor(kube.url), { automaticRollbacks: (id) => (id === 3 ? 1 : 0), retryDelayMs: 10 });
    expect(await counted.rollback({ ...req, releaseId: 3 })).toMatchObject({ kind: 'refused', code: 'already-rolled-back' });
    expect(await counted.rollback({ ...req, releaseId: 3, by: 'alice', decisionId: 10 })).toMatchObject({ kind: 'rolled-back' });
  });

  it('dry run decides and patches nothing', async () => {
    const { kube, actuator } = await threeRevisions();
    const before = kube.deployment(NS, NAME);
    expect(await actuator.rollback({ ...req, dryRun: true })).toEqual({ kind: 'would-roll-back', fromRevision: '4', toRevision: '3', images: ['voice-server:1.2'] });
    expect(kube.deploymentWrites()).toHaveLength(0);
    expect(kube.deployment(NS, NAME).metadata.resourceVersion).toBe(before.metadata.resourceVersion);
  });

  it('refuses with no rollout history', async () => {
    const s = await standIn();
    s.kube.createDeployment(NS, NAME, 'voice-server:1.0');
    const actuator = new KubeActuator(s.clients(), { retryDelayMs: 10 });
    expect(await actuator.rollback(req)).toMatchObject({ kind: 'refused', code: 'no-history' });
  });

  it('previous-version-annotation strategy: sets the image back to the annotated version', async () => {
    const { kube } = await threeRevisions();
    kube.edit(NS, NAME, (d) => (d.metadata.annotations['previous-version'] = '1.1'));
    const a = new KubeActuator(kubeClientsFor(kube.url), { strategyFor: () => ({ kind: 'previous-version-annotation' }), retryDelayMs: 10 });
    expect(await a.rollback(req)).toEqual({ kind: 'rolled-back', fromRevision: '4', toRevision: '2', images: ['voice-server:1.1'] });
    expect(image(kube.deployment(NS, NAME))).toBe('voice-server:1.1');
    expect(kube.deployment(NS, NAME).metadata.annotations[REVISION]).toBe('5');
  });

  it('API faults: a 500 is retried; a 403 fails at once naming RBAC; a hung call times out and fails', async () => {
    const { kube, actuator } = await threeRevisions();
    kube.fault({ method: 'PATCH', status: 500, times: 1 });
    expect(await actuator.rollback(req)).toMatchObject({ kind: 'rolled-back' });
    const s2 = await threeRevisions();
    s2.kube.fault({ method: 'PATCH', status: 403 });
    const forbidden = await s2.actuator.rollback(req);
    expect(forbidden).toMatchObject({ kind: 'failed', reason: expect.stringContaining('HTTP 403') });
    expect(s2.kube.requests.filter((r) => r.method === 'PATCH')).toHaveLength(1);
    const s3 = await threeRevisions();
    s3.kube.fault({ method: 'GET', path: /deployments\/voice-server$/, hang: true });
    const a3 = new KubeActuator(kubeClientsFor(s3.kube.url, 200), { retryDelayMs: 10, attempts: 2 });
    expect(await a3.rollback(req)).toMatchObject({ kind: 'failed', reason: expect.stringContaining('no answer from the Kubernetes API within 200 ms') });
    // Each timed-out call was aborted, not left running: a late write cannot land behind the guard's back.
    await waitFor('the aborted connections to close', () => s3.kube.abandonedByClient === 2);
  });

  it('verification: complete when the controller caught up; failed with what was seen when it does not', async () => {
    const { actuator } = await threeRevisions();
    await actuator.rollback(req);
    expect(await actuator.verifyRollout(ref, 5000)).toMatchObject({ kind: 'complete', detail: expect.stringContaining('available 3 of 3') });
    const s2 = await threeRevisions();
    s2.kube.rolloutsComplete = false;
    await s2.actuator.rollback(req);
    const v = await s2.actuator.verifyRollout(ref, 300);
    expect(v).toMatchObject({ kind: 'failed', detail: expect.stringMatching(/not complete within 300 ms: generation 5, observed 4/) });
  });
});

function kubeClientsFor(url: string, timeoutMs = 2000) {
  return serverClients({ server: url, timeoutMs });
}
