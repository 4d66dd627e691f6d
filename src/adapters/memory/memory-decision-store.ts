// A decision store that keeps everything in memory: used when replay runs without --db (decisions still get
// ids, so the output reads the same), and by tests. Null object: callers never check "is there a store?".
import type { Decision, Evaluation, ReleaseState } from '../../core/engine.js';
import type { ScalarReading } from '../../core/query-outcome.js';
import type { Ruleset } from '../../core/ruleset.js';
import type { DecisionStore, NewRelease, OpenRelease, StoredDecision, StoredRelease } from '../../ports/decision-store.js';

export class MemoryDecisionStore implements DecisionStore {
  readonly releases: StoredRelease[] = [];
  readonly decisions: StoredDecision[] = [];
  evaluationCount = 0;
  private readonly closed = new Set<number>();
  private readonly baselines = new Map<number, Record<string, ScalarReading>>();
  /** Keep evaluations only when asked: a week-long replay makes hundreds of thousands. */
  readonly evaluations: Evaluation[] | undefined;

  constructor(options: { keepEvaluations?: boolean } = {}) {
    this.evaluations = options.keepEvaluations ? [] : undefined;
  }

  startRelease(release: NewRelease, ruleset: Ruleset, baselines: Record<string, { query: string; reading: ScalarReading }>): StoredRelease {
    const stored: StoredRelease = { ...release, id: this.releases.length + 1, rulesHash: ruleset.hash, state: { rules: {} } };
    this.releases.push(stored);
    this.baselines.set(stored.id, Object.fromEntries(Object.entries(baselines).map(([k, v]) => [k, v.reading])));
    return stored;
  }

  recordInstant(releaseId: number, at: number, state: ReleaseState, evaluations: readonly Evaluation[], decisions: readonly Decision[]): StoredDecision[] {
    const release = this.releases[releaseId - 1];
    if (release) {
      release.state = state;
      release.lastEvaluatedAt = at;
    }
    this.evaluationCount += evaluations.length;
    this.evaluations?.push(...evaluations);
    const stored = decisions.map((d) => ({ ...d, id: this.decisions.length + 1, releaseId }));
    this.decisions.push(...stored);
    return stored;
  }

  openReleases(): OpenRelease[] {
    return this.releases.filter((r) => !r.state.outcome && !this.closed.has(r.id)).map((r) => ({ ...r, baselines: this.baselines.get(r.id) ?? {} }));
  }

  closeRelease(releaseId: number): void {
    this.closed.add(releaseId);
  }

  recordRules(): void {}

  close(): void {}
}
