export interface DeploymentRef { namespace: string; deployment: string }
export interface RollbackRequest extends DeploymentRef {
  decisionId: number;          // decision log id; annotated on the Deployment (rollback-guard.io/rolled-back-by)
  reason: string;              // annotated (rollback-guard.io/rollback-reason)
  by: string;                  // 'rollback-guard' or a person (manual rollback / approval)
  dryRun?: boolean;
}
export type RollbackOutcome =
  | { kind: 'rolled-back'; fromRevision: string; toRevision: string; images: string[] }
  | { kind: 'would-roll-back'; fromRevision: string; toRevision: string }      // dry run
  | { kind: 'skipped'; reason: string }                                       // template already matches
  | { kind: 'refused'; code: string; reason: string }                         // paused, annotation, ping-pong, ...
  | { kind: 'failed'; reason: string };                                       // API errors after re-read/retries
export interface Actuator {
  rollback(req: RollbackRequest): Promise<RollbackOutcome>;
  /** Bounded wait for the rollout to finish (observedGeneration, updated/available replicas). */
  verifyRollout(ref: DeploymentRef, timeoutMs: number): Promise<{ kind: 'complete' | 'failed'; detail: string }>;
}
