// Reading facts off Deployment and ReplicaSet objects: revisions, ownership, templates, images.
import type { V1Deployment, V1PodTemplateSpec, V1ReplicaSet } from '@kubernetes/client-node';
import { ANNOTATIONS, POD_TEMPLATE_HASH } from './annotations.js';

export function revisionOf(o: V1Deployment | V1ReplicaSet): string | undefined {
  return o.metadata?.annotations?.[ANNOTATIONS.revision];
}

export function imagesOf(template: V1PodTemplateSpec | undefined): string[] {
  return (template?.spec?.containers ?? []).map((c) => c.image ?? '');
}

/** ReplicaSets the Deployment controls (controller owner reference with its uid), as kubectl finds them. */
export function ownedReplicaSets(d: V1Deployment, all: readonly V1ReplicaSet[]): V1ReplicaSet[] {
  const uid = d.metadata?.uid;
  return all.filter((rs) => rs.metadata?.ownerReferences?.some((o) => o.controller && o.uid === uid));
}

export function hashOf(rs: V1ReplicaSet): string | undefined {
  return rs.metadata?.labels?.[POD_TEMPLATE_HASH];
}

/** A template without the pod-template-hash label: how kubectl and the controller compare templates. */
export function withoutHash(t: V1PodTemplateSpec | undefined): V1PodTemplateSpec {
  const copy = structuredClone(t ?? {});
  if (copy.metadata?.labels) {
    delete copy.metadata.labels[POD_TEMPLATE_HASH];
  }
  return copy;
}

export function sameTemplate(a: V1PodTemplateSpec | undefined, b: V1PodTemplateSpec | undefined): boolean {
  return canonical(withoutHash(a)) === canonical(withoutHash(b));
}

/** JSON with sorted keys, dropping nulls and empty objects, so equal templates compare equal however serialised. */
export function canonical(v: unknown): string {
  return JSON.stringify(normalise(v)) ?? 'null';
}

function normalise(v: unknown): unknown {
  if (v instanceof Date) return v.toISOString();
  if (Array.isArray(v)) return v.map(normalise);
  if (v && typeof v === 'object') {
    const out: Record<string, unknown> = {};
    for (const k of Object.keys(v).sort()) {
      const n = normalise((v as Record<string, unknown>)[k]);
      if (n === null || n === undefined || (typeof n === 'object' && !Array.isArray(n) && Object.keys(n).length === 0)) continue;
      out[k] = n;
    }
    return out;
  }
  return v;
}

export function labelSelector(d: V1Deployment): string {
  return Object.entries(d.spec?.selector?.matchLabels ?? {}).map(([k, v]) => `${k}=${v}`).join(',');
}
