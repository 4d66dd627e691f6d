import type { ScalarReading } from '../core/query-outcome.js';
import type { Decision, Evaluation, ReleaseState } from '../core/engine.js';
import type { Release } from '../core/release.js';
import type { Ruleset } from '../core/ruleset.js';

/** A release as the decision log knows it. */
export interface StoredRelease extends Release {
  id: number;
  namespace: string;
  deployment: string;
  /** Where its data came from: `replay:recording`, `live`, ... */
  source: string;
  rulesHash: string;
  state: ReleaseState;
  lastEvaluatedAt?: number;
  /** The pod selector its per-target queries were bound with. */
  selector?: Record<string, string>;
  stable?: StableTarget;
}

export interface NewRelease extends Release {
  namespace: string;
  deployment: string;
  source: string;
  /** The Deployment's pod selector (matchLabels) its per-target queries were bound with. */
  selector?: Record<string, string>;
  /** A canary's stable Deployment, which its `stable` thresholds read. */
  stable?: StableTarget;
}

export interface StableTarget {
  namespace: string;
  deployment: string;
  selector?: Record<string, string>;
}

/** A release still being guarded (no outcome yet), with what a restart needs to resume it exactly. */
export interface OpenRelease extends StoredRelease {
  baselines: Record<string, ScalarReading>;
  /** The Deployment revision it is (live releases, once identified). */
  revision?: string;
}

/** A decision once written: it has an id people can quote (`explain <id>`, `approve <id>`). */
export interface StoredDecision extends Decision {
  id: number;
  releaseId: number;
}

/** The decision log. Everything for one instant is written at once (one transaction), or not at all. */
export interface DecisionStore {
  /** Records a release, its rules (by hash) and its baselines as read at its start. */
  startRelease(release: NewRelease, ruleset: Ruleset, baselines: Record<string, { query: string; reading: ScalarReading }>): StoredRelease;
  /** Records one instant: the evaluations, the decisions and the engine state after it. */
  recordInstant(releaseId: number, at: number, state: ReleaseState, evaluations: readonly Evaluation[], decisions: readonly Decision[]): StoredDecision[];
  /** Live releases with no outcome yet, oldest first: what a restarted daemon resumes (never a replay's). */
  openReleases(): OpenRelease[];
  /** Ends a release that will not be evaluated any more (a newer release replaced it, or it was given up). */
  closeRelease(releaseId: number, outcome: 'superseded' | 'abandoned' | 'rolled-back', at: number, note: string): void;
  /** A stored decision by id (approvals act on it). */
  decision?(decisionId: number): StoredDecision | undefined;
  /** A release's window and its baselines as read at its start, open or not (a resumed recovery check). */
  releaseContext?(releaseId: number): { release: Release; baselines: Record<string, ScalarReading>; selector?: Record<string, string>; stable?: StableTarget } | undefined;
  /** Stores a rules file's text by hash (new decisions refer to it), e.g. after a hot reload. */
  recordRules(ruleset: Ruleset): void;
  close(): void;
}
