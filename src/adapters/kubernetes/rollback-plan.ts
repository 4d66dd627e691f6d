// Decides a rollback from what was read (the Deployment and its ReplicaSets): the JSON patch to send, or why not.
// Pure: no API calls, no clock (the time to annotate is an argument), so every refusal is unit-testable.
// The `undo` strategy is kubectl's DeploymentRollbacker (rollback.go): the owned ReplicaSet with the highest
// revision below the current one, its template without pod-template-hash, skip if it already matches.
import type { V1Container, V1Deployment, V1ReplicaSet } from '@kubernetes/client-node';
import type { RollbackRequest } from '../../ports/actuator.js';
import { ANNOTATIONS, UNDO_SKIPPED_ANNOTATIONS } from './annotations.js';
import { hashOf, imagesOf, ownedReplicaSets, revisionOf, sameTemplate, withoutHash } from './deployment-facts.js';

const GUARD_PREFIX = 'rollback-guard.io/';
/** The annotations that record one rollback (not the ones people set, like rollback-guard.io/paused or severity). */
const RECORD_KEYS: readonly string[] = [ANNOTATIONS.rolledBackBy, ANNOTATIONS.reason, ANNOTATIONS.decisionId, ANNOTATIONS.rolledBackAt, ANNOTATIONS.fromRevision, ANNOTATIONS.fromHash, ANNOTATIONS.toHash];

export type RollbackStrategy =
  | { kind: 'undo' }
  /** Set one container's image back to the Deployment's `previous-version` annotation (checklist 5.2). */
  | { kind: 'previous-version-annotation'; container?: string };

export interface JsonPatchOp {
  op: 'replace' | 'test' | 'add';
  path: string;
  value: unknown;
}

/** Stable refusal codes, logged and paged. */
export type RefusalCode =
  | 'paused'
  | 'guard-paused'
  | 'changed-since-decision'
  | 'gitops-reapplied'
  | 'ping-pong'
  | 'already-rolled-back'
  | 'no-history'
  | 'no-previous-version'
  | 'container-ambiguous'
  | 'not-leader';

export type RollbackPlan =
  | { kind: 'patch'; ops: JsonPatchOp[]; fromRevision: string; toRevision: string; images: string[] }
  | { kind: 'skipped'; reason: string }
  | { kind: 'refused'; code: RefusalCode; reason: string };

export function planRollback(d: V1Deployment, replicaSets: readonly V1ReplicaSet[], req: RollbackRequest, strategy: RollbackStrategy, nowIso: string): RollbackPlan {
  const name = `${req.namespace}/${req.deployment}`;
  const ann = d.metadata?.annotations ?? {};
  const current = revisionOf(d) ?? '0';
  const refuse = (code: RefusalCode, reason: string): RollbackPlan => ({ kind: 'refused', code, reason: `${name}: ${reason}` });

  if (d.spec?.paused) return refuse('paused', 'the Deployment is paused (spec.paused); a person is rolling it out by hand: resume it or roll back by hand');
  if (ann[ANNOTATIONS.paused] === 'true') return refuse('guard-paused', `annotated ${ANNOTATIONS.paused}: "true"; remove the annotation to let the guard act`);
  // Before the revision check: this decision's own rollback moved the revision on (a rollback is a new revision),
  // so a crash after the patch must find it done, not "changed since the decision".
  if (req.decisionId !== undefined && ann[ANNOTATIONS.decisionId] === String(req.decisionId)) {
    return { kind: 'skipped', reason: `${name}: decision ${req.decisionId} was already carried out (revision ${ann[ANNOTATIONS.fromRevision] ?? '?'} reverted at ${ann[ANNOTATIONS.rolledBackAt] ?? '?'})` };
  }
  if (req.expectedRevision !== undefined && req.expectedRevision !== current) {
    return refuse('changed-since-decision', `the decision was about revision ${req.expectedRevision}, but the Deployment is now at revision ${current} (a person or GitOps changed it); not reverting a release that was not judged`);
  }

  const owned = ownedReplicaSets(d, replicaSets);
  const currentRs = owned.find((rs) => revisionOf(rs) === current);
  const badHash = ann[ANNOTATIONS.fromHash];
  if (badHash && currentRs && hashOf(currentRs) === badHash && current !== ann[ANNOTATIONS.fromRevision]) {
    return refuse('gitops-reapplied', `revision ${current} brings back the template the guard reverted away from at revision ${ann[ANNOTATIONS.fromRevision]} (pod-template-hash ${badHash}): something (GitOps auto-sync?) re-applied it; not looping: fix the source of truth`);
  }

  // This rollback's record replaces any earlier one (ours() sets every key it has; absent ones are dropped).
  const withoutRecord = (a: Record<string, string>) => Object.fromEntries(Object.entries(a).filter(([k]) => !RECORD_KEYS.includes(k)));
  const ours = (fromHash: string | undefined, toHash: string | undefined): Record<string, string> => {
    const a: Record<string, string> = {
      [ANNOTATIONS.rolledBackBy]: req.by,
      [ANNOTATIONS.reason]: req.reason,
      [ANNOTATIONS.rolledBackAt]: nowIso,
      [ANNOTATIONS.fromRevision]: current,
    };
    if (req.decisionId !== undefined) a[ANNOTATIONS.decisionId] = String(req.decisionId);
    if (fromHash) a[ANNOTATIONS.fromHash] = fromHash;
    if (toHash) a[ANNOTATIONS.toHash] = toHash;
    return a;
  };
  // Optimistic concurrency: the API server answers 409 when the resourceVersion in the patched object is stale.
  const precondition: JsonPatchOp = { op: 'replace', path: '/metadata/resourceVersion', value: d.metadata?.resourceVersion };

  if (strategy.kind === 'undo') {
    const previous = owned
      .filter((rs) => Number(revisionOf(rs) ?? 0) < Number(current))
      .sort((a, b) => Number(revisionOf(b)) - Number(revisionOf(a)))[0];
    if (!previous) return refuse('no-history', `no ReplicaSet owned by the Deployment has a revision below ${current}: no rollout history to go back to`);
    const to = revisionOf(previous)!;
    if (sameTemplate(previous.spec?.template, d.spec?.template)) {
      return { kind: 'skipped', reason: `${name}: the current template already matches revision ${to}` };
    }
    if (badHash && hashOf(previous) === badHash) {
      return refuse('ping-pong', `the previous revision ${to} is the template the guard itself reverted away from (pod-template-hash ${badHash}); not rolling back into it`);
    }
    // kubectl's annotations: the skipped ones from the Deployment, the rest from the ReplicaSet. Unlike kubectl,
    // the Deployment's other annotations are kept (a person's rollback-guard.io/paused must survive a rollback).
    const annotations: Record<string, string> = withoutRecord(ann);
    // The controller copies Deployment annotations onto ReplicaSets, so an old one may carry an old rollback's
    // rollback-guard.io/* record: never restore that, only write this rollback's.
    for (const [k, v] of Object.entries(previous.metadata?.annotations ?? {})) if (!UNDO_SKIPPED_ANNOTATIONS.includes(k) && !k.startsWith(GUARD_PREFIX)) annotations[k] = v;
    Object.assign(annotations, ours(currentRs && hashOf(currentRs), hashOf(previous)));
    const template = withoutHash(previous.spec?.template);
    return {
      kind: 'patch',
      fromRevision: current,
      toRevision: to,
      images: imagesOf(template),
      ops: [precondition, { op: 'replace', path: '/spec/template', value: template }, { op: 'replace', path: '/metadata/annotations', value: annotations }],
    };
  }

  const version = ann[ANNOTATIONS.previousVersion];
  if (!version) return refuse('no-previous-version', `strategy previous-version-annotation, but the Deployment has no "${ANNOTATIONS.previousVersion}" annotation`);
  const containers = d.spec?.template?.spec?.containers ?? [];
  const index = pickContainer(containers, strategy.container, req.deployment);
  if (index < 0) {
    return refuse('container-ambiguous', `cannot tell which container to set back: ${strategy.container ? `no container named "${strategy.container}"` : `${containers.length} containers and none named "${req.deployment}"`}; set rollback.container in the rules file`);
  }
  const image = containers[index]!.image ?? '';
  const target = versionedImage(image, version);
  if (target === image) return { kind: 'skipped', reason: `${name}: container ${containers[index]!.name} already runs ${image}` };
  const template = withoutHash(d.spec?.template);
  template.spec!.containers[index]!.image = target;
  // If an owned ReplicaSet already has this template, the controller will reuse it: that is the revision we go to.
  const match = ownedReplicaSets(d, replicaSets).find((rs) => sameTemplate(rs.spec?.template, template));
  if (badHash && match && hashOf(match) === badHash) {
    return refuse('ping-pong', `setting ${target} brings back the template the guard itself reverted away from (pod-template-hash ${badHash})`);
  }
  const path = `/spec/template/spec/containers/${index}/image`;
  return {
    kind: 'patch',
    fromRevision: current,
    toRevision: match ? revisionOf(match)! : 'new',
    images: imagesOf(template),
    ops: [
      precondition,
      { op: 'test', path, value: image },
      { op: 'replace', path, value: target },
      { op: 'replace', path: '/metadata/annotations', value: { ...withoutRecord(ann), ...ours(currentRs && hashOf(currentRs), match && hashOf(match)) } },
    ],
  };
}

function pickContainer(containers: readonly V1Container[], wanted: string | undefined, deployment: string): number {
  if (wanted) return containers.findIndex((c) => c.name === wanted);
  if (containers.length === 1) return 0;
  return containers.findIndex((c) => c.name === deployment);
}

/** The annotation holds a version (`1.4.2`, as in the checklist's `voice-server:${PREV_VERSION}`) or a whole image. */
export function versionedImage(current: string, version: string): string {
  if (version.includes('/') || version.includes(':') || version.includes('@')) return version;
  const repo = current.replace(/@sha256:[0-9a-f]+$/, '').replace(/:[^:/]+$/, '');
  return `${repo}:${version}`;
}
