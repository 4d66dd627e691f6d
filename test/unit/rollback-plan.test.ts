import type { V1Deployment, V1ReplicaSet } from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import { planRollback } from '../../src/adapters/kubernetes/rollback-plan.js';

// The pure planner on hand-built objects: the refusals the stand-in scenarios do not reach.
const uid = 'd-uid';
const template = (images: Record<string, string>) => ({ metadata: { labels: { app: 'voice-server' } }, spec: { containers: Object.entries(images).map(([name, image]) => ({ name, image })) } });
function deployment(images: Record<string, string>, annotations: Record<string, string> = {}): V1Deployment {
  return { metadata: { name: 'voice-server', namespace: 'ns', uid, resourceVersion: '42', annotations: { 'deployment.kubernetes.io/revision': '2', ...annotations } }, spec: { selector: { matchLabels: { app: 'voice-server' } }, template: template(images) } };
}
function rs(revision: string, images: Record<string, string>, hash: string): V1ReplicaSet {
  const t = template(images);
  t.metadata.labels = { ...t.metadata.labels, 'pod-template-hash': hash } as typeof t.metadata.labels;
  return { metadata: { name: `voice-server-${hash}`, labels: t.metadata.labels, annotations: { 'deployment.kubernetes.io/revision': revision }, ownerReferences: [{ apiVersion: 'apps/v1', kind: 'Deployment', name: 'voice-server', uid, controller: true }] }, spec: { selector: { matchLabels: {} }, template: t } };
}
const req = { namespace: 'ns', deployment: 'voice-server', reason: 'r', by: 'rollback-guard' };
const NOW = '2026-11-25T02:00:00.000Z';
const annotationStrategy = { kind: 'previous-version-annotation' as const };

describe('planRollback', () => {
  it('previous-version: refuses without the annotation, and with several containers and none chosen', () => {
    expect(planRollback(deployment({ 'voice-server': 'v:2' }), [], req, annotationStrategy, NOW)).toMatchObject({ kind: 'refused', code: 'no-previous-version' });
    const two = deployment({ app: 'v:2', sidecar: 's:1' }, { 'previous-version': '1' });
    expect(planRollback(two, [], req, annotationStrategy, NOW)).toMatchObject({ kind: 'refused', code: 'container-ambiguous', reason: expect.stringContaining('set rollback.container') });
    expect(planRollback(two, [], req, { ...annotationStrategy, container: 'nope' }, NOW)).toMatchObject({ kind: 'refused', code: 'container-ambiguous', reason: expect.stringContaining('no container named "nope"') });
  });

  it('previous-version: picks the named container, guards the image with a `test` op, goes to a new revision when no ReplicaSet has it', () => {
    const d = deployment({ app: 'v:2', sidecar: 's:1' }, { 'previous-version': '1' });
    const plan = planRollback(d, [], req, { ...annotationStrategy, container: 'app' }, NOW);
    expect(plan).toMatchObject({ kind: 'patch', fromRevision: '2', toRevision: 'new', images: ['v:1', 's:1'] });
    if (plan.kind !== 'patch') throw new Error('no patch');
    expect(plan.ops.slice(0, 3)).toEqual([
      { op: 'replace', path: '/metadata/resourceVersion', value: '42' },
      { op: 'test', path: '/spec/template/spec/containers/0/image', value: 'v:2' },
      { op: 'replace', path: '/spec/template/spec/containers/0/image', value: 'v:1' },
    ]);
  });

  it('a decision found carried out (a crash after its patch) is skipped, not refused for the revision its own rollback made', () => {
    // The rollback of revision 2 made revision 3; the decision was about 2.
    const after = deployment({ 'voice-server': 'v:1' }, { 'deployment.kubernetes.io/revision': '3', 'rollback-guard.io/decision-id': '7', 'rollback-guard.io/rolled-back-from-revision': '2' });
    expect(planRollback(after, [], { ...req, decisionId: 7, expectedRevision: '2' }, { kind: 'undo' }, NOW)).toMatchObject({ kind: 'skipped', reason: expect.stringContaining('decision 7 was already carried out') });
    // Another decision about revision 2 still meets the revision check.
    expect(planRollback(after, [], { ...req, decisionId: 8, expectedRevision: '2' }, { kind: 'undo' }, NOW)).toMatchObject({ kind: 'refused', code: 'changed-since-decision' });
  });

  it('skips when the annotated version is already running', () => {
    expect(planRollback(deployment({ 'voice-server': 'v:1' }, { 'previous-version': '1' }), [], req, annotationStrategy, NOW)).toMatchObject({ kind: 'skipped' });
  });

  it('undo: ignores ReplicaSets another Deployment owns; a matching expectedRevision proceeds', () => {
    const foreign = rs('1', { 'voice-server': 'v:0' }, 'f00');
    foreign.metadata!.ownerReferences![0]!.uid = 'other';
    expect(planRollback(deployment({ 'voice-server': 'v:2' }), [foreign, rs('2', { 'voice-server': 'v:2' }, 'b2')], req, { kind: 'undo' }, NOW)).toMatchObject({ kind: 'refused', code: 'no-history' });
    const plan = planRollback(deployment({ 'voice-server': 'v:2' }), [rs('1', { 'voice-server': 'v:1' }, 'a1'), rs('2', { 'voice-server': 'v:2' }, 'b2')], { ...req, expectedRevision: '2', decisionId: 3 }, { kind: 'undo' }, NOW);
    expect(plan).toMatchObject({ kind: 'patch', fromRevision: '2', toRevision: '1' });
    if (plan.kind !== 'patch') throw new Error('no patch');
    expect(plan.ops[2]!.value).toMatchObject({
      'rollback-guard.io/decision-id': '3',
      'rollback-guard.io/rolled-back-from-hash': 'b2',
      'rollback-guard.io/rolled-back-to-hash': 'a1',
      'rollback-guard.io/rolled-back-at': NOW,
    });
  });

  it("undo: never restores an old rollback's record from the ReplicaSet's copied annotations", () => {
    const old = rs('1', { 'voice-server': 'v:1' }, 'a1');
    old.metadata!.annotations = { ...old.metadata!.annotations, 'rollback-guard.io/decision-id': '1', 'kubernetes.io/change-cause': 'release 1' };
    const plan = planRollback(deployment({ 'voice-server': 'v:2' }), [old, rs('2', { 'voice-server': 'v:2' }, 'b2')], { ...req, by: 'alice' }, { kind: 'undo' }, NOW);
    if (plan.kind !== 'patch') throw new Error('no patch');
    const annotations = plan.ops[2]!.value as Record<string, string>;
    expect(annotations['rollback-guard.io/decision-id']).toBeUndefined();
    expect(annotations['kubernetes.io/change-cause']).toBe('release 1'); // kubectl restores the change cause too
    expect(annotations['rollback-guard.io/rolled-back-by']).toBe('alice');
  });
});
