import type { Severity } from './rules-schema.js';

/** One release of the guarded Deployment, as the engine sees it. Times are Unix milliseconds. */
export interface Release {
  startedAt: number;
  severity: Severity;
  /** Guard window length; normally the rules file's window for the severity. */
  windowMs: number;
}

export function windowEnd(release: Release): number {
  return release.startedAt + release.windowMs;
}
