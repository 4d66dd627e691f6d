// The Kubernetes permissions rollback-guard needs, namespace-scoped, as data: the README documents them and the
// Helm chart grants exactly these (a test checks every API call the guard makes is covered by them).
export interface RbacRule {
  apiGroups: string[];
  resources: string[];
  verbs: string[];
  /** What needs it, for the README. */
  why: string;
}

export const RBAC_RULES: readonly RbacRule[] = [
  { apiGroups: ['apps'], resources: ['deployments'], verbs: ['get', 'list', 'watch'], why: 'detect releases (read + watch the target Deployments), read before a rollback, verify the rollout' },
  { apiGroups: ['apps'], resources: ['deployments'], verbs: ['patch'], why: 'the rollback itself: one JSON patch with a resourceVersion precondition' },
  { apiGroups: ['apps'], resources: ['replicasets'], verbs: ['get', 'list', 'watch'], why: 'find the revision to go back to (ReplicaSets owned by the Deployment)' },
  { apiGroups: ['events.k8s.io'], resources: ['events'], verbs: ['create', 'patch'], why: 'Kubernetes Events on the Deployments judged (a repeat is patched into its series); best-effort' },
  { apiGroups: ['coordination.k8s.io'], resources: ['leases'], verbs: ['get', 'create', 'update'], why: 'leader election: only one replica acts' },
];

/** True when `verb` on `group/resource` is granted by RBAC_RULES. */
export function rbacAllows(group: string, resource: string, verb: string): boolean {
  return RBAC_RULES.some((r) => r.apiGroups.includes(group) && r.resources.includes(resource) && r.verbs.includes(verb));
}

/** A namespace-scoped Role granting exactly RBAC_RULES. */
export function rbacRole(namespace: string, name = 'rollback-guard'): Record<string, unknown> {
  return {
    apiVersion: 'rbac.authorization.k8s.io/v1',
    kind: 'Role',
    metadata: { name, namespace },
    rules: RBAC_RULES.map(({ apiGroups, resources, verbs }) => ({ apiGroups, resources, verbs })),
  };
}
