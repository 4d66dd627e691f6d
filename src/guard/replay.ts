// Replay: drive a ReleaseGuard over recorded time, one tick per step, exactly as the daemon would tick live.
import type { Evaluation } from '../core/engine.js';
import type { Release } from '../core/release.js';
import type { Ruleset } from '../core/ruleset.js';
import type { DecisionStore, StoredDecision } from '../ports/decision-store.js';
import type { MetricSource } from '../ports/metric-source.js';
import { ReleaseGuard } from './release-guard.js';

export interface ReplayOptions {
  ruleset: Ruleset;
  release: Release;
  source: MetricSource;
  store: DecisionStore;
  sourceName: string;
  stepMs: number;
  /** Last instant evaluated (inclusive), Unix ms. */
  until: number;
  /** Called with every instant's evaluations, e.g. to count them or to print progress. */
  onEvaluations?: (evaluations: readonly Evaluation[]) => void;
}

export interface ReplayResult {
  guard: ReleaseGuard;
  decisions: StoredDecision[];
  instants: number;
  evaluations: number;
  /** Last instant evaluated. */
  lastAt: number;
}

export async function replay(options: ReplayOptions): Promise<ReplayResult> {
  const guard = await ReleaseGuard.begin(options);
  const decisions: StoredDecision[] = [];
  let instants = 0;
  let evaluations = 0;
  let lastAt = options.release.startedAt;
  for (let at = options.release.startedAt; at <= options.until && !guard.over; at += options.stepMs) {
    const r = await guard.tick(at);
    instants++;
    evaluations += r.evaluations.length;
    decisions.push(...r.decisions);
    options.onEvaluations?.(r.evaluations);
    lastAt = at;
  }
  return { guard, decisions, instants, evaluations, lastAt };
}
