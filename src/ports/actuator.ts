/** A Deployment the guard watches or acts on. */
export interface DeploymentRef {
  namespace: string;
  deployment: string;
}

export interface RollbackRequest extends DeploymentRef {
  /** Decision log id of the rollback decision; annotated on the Deployment (`rollback-guard.io/decision-id`). Absent for a manual rollback. */
  decisionId?: number;
  /** The release the decision was about (decision log id): at most one automatic rollback per release. */
  releaseId?: number;
  /** The revision the decision judged. If the Deployment has moved on since (a person, GitOps), the rollback is refused. */
  expectedRevision?: string;
  /** Why; annotated (`rollback-guard.io/rollback-reason`). */
  reason: string;
  /** 'rollback-guard' or a person (manual rollback / approval); annotated (`rollback-guard.io/rolled-back-by`). */
  by: string;
  /** Decide and report, patch nothing. */
  dryRun?: boolean;
}

export type RollbackOutcome =
  | { kind: 'rolled-back'; fromRevision: string; toRevision: string; images: string[] }
  | { kind: 'would-roll-back'; fromRevision: string; toRevision: string; images: string[] }
  | { kind: 'skipped'; reason: string }
  | { kind: 'refused'; code: string; reason: string }
  | { kind: 'failed'; reason: string };

export interface VerifyOutcome {
  kind: 'complete' | 'failed';
  detail: string;
}

/** Acts on the cluster. Never throws for a refusal or an API failure: both are outcomes to log and page. */
export interface Actuator {
  rollback(req: RollbackRequest): Promise<RollbackOutcome>;
  /** Bounded wait for the rollout to finish (observedGeneration, updated/available replicas). */
  verifyRollout(ref: DeploymentRef, timeoutMs: number): Promise<VerifyOutcome>;
}
