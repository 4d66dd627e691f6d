import type { DeploymentRef } from './actuator.js';

export interface ObservedRelease extends DeploymentRef {
  revision: string; images: string[]; changeCause?: string;
  severity: 'hotfix' | 'minor' | 'major' | 'infrastructure'; severityProblem?: string;  // bad annotation -> minor + reason
  startedAt: number;           // Unix ms: when the advance was observed; on adoption Progressing.lastUpdateTime
  kind: 'release' | 'own-rollback';   // own-rollback = the guard's own rollback (starts post-rollback verification)
  adopted: boolean;            // found already in progress at start-up
}
export interface ReleaseSource { start(onRelease: (r: ObservedRelease) => void | Promise<void>): Promise<void>; stop(): Promise<void> }
