import type { Severity } from '../core/rules-schema.js';
import type { DeploymentRef } from './actuator.js';

/** A revision advance of a guarded Deployment. */
export interface ObservedRelease extends DeploymentRef {
  revision: string;
  images: string[];
  changeCause?: string;
  /** From `rollback-guard.io/release-manager` and `rollback-guard.io/tracking`, for DEPLOY_START. */
  manager?: string;
  tracking?: string;
  /** From `rollback-guard.io/severity`; a missing one is minor, a bad one is minor with `severityProblem` saying why. */
  severity: Severity;
  severityProblem?: string;
  /** Unix ms: when the advance was observed; on adoption, the Progressing condition's lastUpdateTime. */
  startedAt: number;
  /** own-rollback: the guard's own rollback, which starts post-rollback verification instead of a guard window. */
  kind: 'release' | 'own-rollback';
  /** Found already in progress at start-up (or after a relist), not seen advancing. */
  adopted: boolean;
  /** The Deployment's spec.selector.matchLabels: what a per-target query's {{selector}} stands for. */
  selector?: Record<string, string>;
  /** Adopted, and the decision log already ended this revision's release (its outcome): it is not guarded again. */
  ended?: string;
}

/** A Deployment a fleet (`select:` of the rules file `selection`) now selects, or no longer does. */
export interface TargetChange extends DeploymentRef {
  kind: 'added' | 'removed';
  /** The rules file whose `select:` matched. */
  selection: string;
}

export interface ReleaseSource {
  /** `onTarget` hears of selected Deployments as they appear and disappear, before any release of theirs. */
  start(onRelease: (r: ObservedRelease) => void | Promise<void>, onTarget?: (c: TargetChange) => void | Promise<void>): Promise<void>;
  stop(): Promise<void>;
  /**
   * Forget the revision last reported for this Deployment, so its next periodic read reports it again (adopted):
   * a release whose start could not be recorded (the decision log was full) is not lost for good.
   */
  forget?(ref: DeploymentRef): void;
}
