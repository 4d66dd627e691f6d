// Annotation keys the guard reads and writes. The rollback-guard.io/* ones it writes on a rollback are also how it
// (or another replica after a restart or a leader change) recognises its own rollback later.
export const ANNOTATIONS = {
  /** Set by the deployment controller: the Deployment's current revision. */
  revision: 'deployment.kubernetes.io/revision',
  changeCause: 'kubernetes.io/change-cause',
  /** Release severity, set by whoever releases: hotfix | minor | major | infrastructure (default minor). */
  severity: 'rollback-guard.io/severity',
  /** Who runs the release, and its ticket: DEPLOY_START's {NAME} and {JIRA_LINK} (checklist 6.2). */
  releaseManager: 'rollback-guard.io/release-manager',
  tracking: 'rollback-guard.io/tracking',
  /** "true": the guard must not roll this Deployment back (a person is on it). */
  paused: 'rollback-guard.io/paused',
  /** The checklist's `previous-version` annotation (previous-version-annotation strategy). */
  previousVersion: 'previous-version',
  // Written by the guard on each rollback:
  rolledBackBy: 'rollback-guard.io/rolled-back-by',
  reason: 'rollback-guard.io/rollback-reason',
  decisionId: 'rollback-guard.io/decision-id',
  rolledBackAt: 'rollback-guard.io/rolled-back-at',
  fromRevision: 'rollback-guard.io/rolled-back-from-revision',
  /** pod-template-hash of the template reverted away from: it must not come back by the guard's hand (ping-pong) or silently (GitOps). */
  fromHash: 'rollback-guard.io/rolled-back-from-hash',
  /** pod-template-hash of the template reverted to, when known: identifies the guard's own rollback on adoption. */
  toHash: 'rollback-guard.io/rolled-back-to-hash',
} as const;

export const POD_TEMPLATE_HASH = 'pod-template-hash';

/** Annotations `kubectl rollout undo` keeps from the Deployment rather than copying from the ReplicaSet (rollback.go). */
export const UNDO_SKIPPED_ANNOTATIONS: readonly string[] = [
  'kubectl.kubernetes.io/last-applied-configuration',
  'deployment.kubernetes.io/revision',
  'deployment.kubernetes.io/revision-history',
  'deployment.kubernetes.io/desired-replicas',
  'deployment.kubernetes.io/max-replicas',
  'deprecated.deployment.rollback.to',
];
