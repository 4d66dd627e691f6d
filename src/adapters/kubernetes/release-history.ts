// Past releases from a Deployment's ReplicaSet history, for `backtest` where no decision log reaches: each owned
// ReplicaSet with a revision is a release, started (an estimate) when the ReplicaSet was created. A ReplicaSet that
// a rollback re-used keeps its first creation time, and the controller keeps only `revisionHistoryLimit` of them
// (default 10): older releases are simply not there. Read-only: get and list.
import type { V1Deployment } from '@kubernetes/client-node';
import type { DeploymentRef } from '../../ports/actuator.js';
import type { Severity } from '../../core/rules-schema.js';
import { ANNOTATIONS } from './annotations.js';
import { labelSelector, ownedReplicaSets, revisionOf } from './deployment-facts.js';
import { parseSeverity } from './deployment-watcher.js';
import { kubeCall, toKubernetesError } from './kube-call.js';
import type { KubeClients } from './kube-client.js';

export interface HistoricRelease extends DeploymentRef {
  revision: string;
  /** The ReplicaSet's creation time (Unix ms): an estimate of the release start. */
  startedAt: number;
  /** From `rollback-guard.io/severity`, which the controller copies from the Deployment to its ReplicaSet. */
  severity: Severity;
  /** The Deployment's pod selector, for per-target queries that use {{selector}}. */
  selector?: Record<string, string>;
}

/** A fleet's Deployments: those matching `labelSelector`, in `namespace` or every namespace. */
export async function selectedDeployments(k: KubeClients, namespace: string | undefined, labelSelector: string): Promise<DeploymentRef[]> {
  const list = await kubeCall(`list deployments ${labelSelector}`, k.timeoutMs, (o) => (namespace !== undefined ? k.apps.listNamespacedDeployment({ namespace, labelSelector }, o) : k.apps.listDeploymentForAllNamespaces({ labelSelector }, o)));
  return list.items.map((d) => ({ namespace: d.metadata?.namespace ?? '', deployment: d.metadata?.name ?? '' }));
}

/** The releases of each Deployment that started in [since, until] (Unix ms), oldest first; a Deployment that cannot be read is a problem, not a failure. */
export async function releaseHistory(k: KubeClients, refs: readonly DeploymentRef[], since: number, until: number): Promise<{ releases: HistoricRelease[]; problems: string[] }> {
  const releases: HistoricRelease[] = [];
  const problems: string[] = [];
  for (const ref of refs) {
    try {
      const d: V1Deployment = await kubeCall(`get deployment ${ref.namespace}/${ref.deployment}`, k.timeoutMs, (o) => k.apps.readNamespacedDeployment({ name: ref.deployment, namespace: ref.namespace }, o));
      const list = await kubeCall(`list replicasets in ${ref.namespace}`, k.timeoutMs, (o) => k.apps.listNamespacedReplicaSet({ namespace: ref.namespace, labelSelector: labelSelector(d) }, o));
      const selector = d.spec?.selector?.matchLabels;
      for (const rs of ownedReplicaSets(d, list.items)) {
        const revision = revisionOf(rs);
        const created = rs.metadata?.creationTimestamp;
        if (revision === undefined || created === undefined) continue;
        const startedAt = new Date(created).getTime();
        if (startedAt < since || startedAt > until) continue;
        const { severity } = parseSeverity(rs.metadata?.annotations?.[ANNOTATIONS.severity]);
        releases.push({ ...ref, revision, startedAt, severity, ...(selector && Object.keys(selector).length ? { selector: { ...selector } } : {}) });
      }
    } catch (err) {
      problems.push(toKubernetesError(`ReplicaSet history of ${ref.namespace}/${ref.deployment}`, err).message);
    }
  }
  releases.sort((a, b) => a.startedAt - b.startedAt || Number(a.revision) - Number(b.revision));
  return { releases, problems };
}
