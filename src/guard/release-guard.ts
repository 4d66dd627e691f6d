// Guards one release: reads baselines at its start, then at each tick(now) fetches what the due rules need,
// runs the engine and writes the instant to the decision log. Replay and the live daemon both call tick(now),
// so what replay decides on some data is what the daemon decides on it.
import { bindRuleset, type BoundTarget } from '../core/bind-ruleset.js';
import { firstLevel } from '../core/escalation.js';
import { initialState, rulesDue, step, type Decision, type EngineContext, type Evaluation, type ReleaseState } from '../core/engine.js';
import { readScalar, type ScalarReading } from '../core/query-outcome.js';
import type { Release } from '../core/release.js';
import type { RuleMode, Ruleset, Tier } from '../core/ruleset.js';
import type { DecisionStore, OpenRelease, StableTarget, StoredDecision, StoredRelease } from '../ports/decision-store.js';
import type { MetricSource } from '../ports/metric-source.js';
import type { Observation } from '../core/engine.js';
import type { BatchOptions } from './query-batch.js';
import { observeMany, type ObservationRequest } from './observe.js';

function withRules(ruleset: Ruleset, state: ReleaseState): ReleaseState {
  const fresh = initialState(ruleset);
  const rules = Object.fromEntries(Object.keys(fresh.rules).map((name) => [name, state.rules[name] ?? fresh.rules[name]!]));
  return { ...(state.outcome ? { outcome: state.outcome } : {}), rules, ...(state.manual ? { manual: state.manual } : {}) };
}

/** An open page of a rule the rules file no longer has (removed or renamed by a reload). */
interface OrphanedPage {
  rule: string;
  level: number;
  tier: Tier | null;
  mode: RuleMode;
}

/** Open pages `state` holds for rules `after` lacks; `before` (when known) says what they were. */
function orphanedPages(state: ReleaseState, before: Ruleset | undefined, after: Ruleset): OrphanedPage[] {
  const kept = new Set(after.rules.map((r) => r.name));
  return Object.entries(state.rules).flatMap(([rule, mem]) => {
    if (!mem.page || kept.has(rule)) return [];
    const old = before?.rules.find((r) => r.name === rule);
    return [{ rule, level: mem.page.level, tier: mem.page.tier ?? old?.tier ?? null, mode: mem.page.mode ?? old?.mode ?? 'enforce' }];
  });
}

export interface TickResult {
  at: number;
  evaluations: Evaluation[];
  decisions: StoredDecision[];
  state: ReleaseState;
}

/** What one target's tick at `now` needs read; `ReleaseGuard.apply` takes the observations. */
export interface TickPlan {
  now: number;
  request: ObservationRequest;
}

/**
 * One instant of many releases: every guard's needs read in one batch (a per-target query several targets share is
 * sent once for all of them, ADR 0015), then each guard's step applied. The daemon's tick; a guard's own `tick`
 * is this for one.
 */
export async function tickGuards(source: MetricSource, guards: readonly ReleaseGuard[], now: number, options?: BatchOptions): Promise<TickResult[]> {
  const plans = guards.map((g) => g.plan(now));
  const observed = await observeMany(source, plans.map((p) => p.request), options);
  return guards.map((g, i) => g.apply(plans[i]!, observed[i]!));
}

export class ReleaseGuard {
  readonly stored: StoredRelease;
  private state: ReleaseState;
  /** The rules as the file writes them (before binding): what lets targets share a query. */
  private file: Ruleset;
  private readonly target: BoundTarget;

  private ctxRef: EngineContext;
  /** Closed at the next tick with a resolve decision, so no incident or Approve button is left open for good. */
  private orphans: OrphanedPage[] = [];

  private constructor(ctx: EngineContext, file: Ruleset, target: BoundTarget, stored: StoredRelease, private readonly source: MetricSource, private readonly store: DecisionStore, state?: ReleaseState) {
    this.ctxRef = ctx;
    this.file = file;
    this.target = target;
    this.stored = stored;
    this.state = state ?? initialState(ctx.ruleset);
  }

  get ctx(): EngineContext {
    return this.ctxRef;
  }

  /**
   * Picks a release up where the decision log left it (after a restart): same baselines, same rule states, hold
   * clocks and open pages. Nothing is re-read or reset.
   */
  static resume(options: { ruleset: Ruleset; open: OpenRelease; source: MetricSource; store: DecisionStore }): ReleaseGuard {
    const { open } = options;
    // Bound again with the selector it was judged with: the same queries as before the restart.
    const ruleset = bindRuleset(options.ruleset, open);
    const release: Release = { startedAt: open.startedAt, severity: open.severity, windowMs: open.windowMs };
    const state = withRules(ruleset, open.state);
    const target: BoundTarget = { namespace: open.namespace, deployment: open.deployment, ...(open.selector ? { selector: open.selector } : {}), ...(open.stable ? { stable: open.stable } : {}) };
    const guard = new ReleaseGuard({ ruleset, release, baselines: open.baselines }, options.ruleset, target, open, options.source, options.store, state);
    guard.orphans = orphanedPages(open.state, undefined, ruleset);
    return guard;
  }

  /**
   * Switches to a reloaded rules file from the next tick on. Rules keep their state by name; new rules start
   * inactive; removed rules are dropped, and the open page of one is resolved at the next tick. The decisions
   * that follow carry the new file's hash.
   */
  reload(file: Ruleset): void {
    const ruleset = bindRuleset(file, this.stored);
    this.orphans.push(...orphanedPages(this.state, this.ctxRef.ruleset, ruleset));
    this.ctxRef = { ...this.ctxRef, ruleset };
    this.file = file;
    this.state = withRules(ruleset, this.state);
  }

  /** Starts guarding a release: evaluates the baselines at its start and records the release. */
  static async begin(options: {
    ruleset: Ruleset;
    release: Release;
    target?: { namespace: string; deployment: string };
    /** The Deployment's pod selector, for per-target queries that use {{selector}}. */
    selector?: Record<string, string>;
    /** A canary's stable Deployment (with its selector), which `stable` thresholds read. */
    stable?: StableTarget;
    source: MetricSource;
    store: DecisionStore;
    sourceName: string;
  }): Promise<ReleaseGuard> {
    const { release, source, store } = options;
    const named = options.target ?? options.ruleset.target;
    if (!named) throw new Error(`${options.ruleset.file} selects its Deployments by label: the release's Deployment must be given`);
    const target = { namespace: named.namespace, deployment: named.deployment };
    // Its per-target queries bound once, for this Deployment (a TargetBindingError when a needed selector is unknown).
    const bound: BoundTarget = { ...target, ...(options.selector ? { selector: options.selector } : {}), ...(options.stable ? { stable: options.stable } : {}) };
    const ruleset = bindRuleset(options.ruleset, bound);
    // As of the release start, less the evaluation offset like every other reading.
    const asOf = release.startedAt - ruleset.evaluationOffsetMs;
    const readings = await Promise.all(ruleset.baselines.map(async (b) => [b, readScalar(await source.instant(b.query, asOf))] as const));
    const baselines: Record<string, ScalarReading> = {};
    const forStore: Record<string, { query: string; reading: ScalarReading }> = {};
    for (const [b, reading] of readings) {
      baselines[b.name] = reading;
      forStore[b.name] = { query: b.query, reading };
    }
    const stored = store.startRelease({ ...release, ...target, source: options.sourceName, ...(options.selector ? { selector: options.selector } : {}), ...(options.stable ? { stable: options.stable } : {}) }, ruleset, forStore);
    return new ReleaseGuard({ ruleset, release, baselines }, options.ruleset, bound, stored, source, store);
  }

  get releaseState(): ReleaseState {
    return this.state;
  }

  get over(): boolean {
    return this.state.outcome !== undefined;
  }

  /**
   * A manual trigger for what no metric sees (a critical vulnerability; user complaints), recorded at `at`: an
   * immediate one is a rollback decision, a considered one a page that climbs the ladder from the next tick (its
   * open page is kept in the release state). The caller acts on it, as on an engine's decision.
   */
  trigger(at: number, tier: Tier, note: string): StoredDecision {
    const { ruleset, release } = this.ctx;
    const decision: Decision = {
      at,
      action: tier === 'immediate' ? 'rollback' : 'page',
      tier,
      rule: null,
      ...(tier === 'considered' ? { level: firstLevel(ruleset.escalation) } : {}),
      value: null,
      threshold: null,
      mode: 'enforce',
      evidence: { value: null, threshold: null, rulesHash: ruleset.hash, release: { startedAt: release.startedAt, severity: release.severity, windowEnd: release.startedAt + release.windowMs }, note, ...(tier === 'considered' ? { pagedAt: at } : {}) },
    };
    if (tier === 'considered') this.state = { ...this.state, manual: [...(this.state.manual ?? []), { level: firstLevel(ruleset.escalation), pagedAt: at, note }] };
    return this.store.recordInstant(this.stored.id, at, this.state, [], [decision])[0]!;
  }

  /**
   * Rule pages someone declined (by rule and when they went out): they stay open, and are resolved when the rule
   * stops firing, but climb the ladder no further. Kept in the release state, so a restart keeps it.
   */
  declineRulePages(pages: readonly { rule: string; pagedAt: number }[]): void {
    const rules = { ...this.state.rules };
    let changed = false;
    for (const { rule, pagedAt } of pages) {
      const mem = rules[rule];
      if (!mem?.page || mem.page.pagedAt !== pagedAt || mem.page.declined) continue;
      rules[rule] = { ...mem, page: { ...mem.page, declined: true } };
      changed = true;
    }
    if (changed) this.state = { ...this.state, rules };
  }

  /** Manual pages someone approved or declined (by when they went out): decided, so no longer escalated. */
  closeManualPages(pagedAts: readonly number[]): void {
    const open = this.state.manual ?? [];
    const left = open.filter((p) => !pagedAts.includes(p.pagedAt));
    if (left.length !== open.length) this.state = { ...this.state, manual: left };
  }

  /**
   * Ends the release outside the engine: rolled back by a manual trigger, an approval, or another replica. Nothing
   * more is judged; the caller closes the release in the decision log.
   */
  endRolledBack(at: number): void {
    if (!this.state.outcome) this.state = { ...this.state, outcome: { kind: 'rolled-back', at } };
  }

  /**
   * One evaluation instant. Queries of the instant run concurrently, on the data as of `now` less the rules'
   * `evaluationOffset`; identical query strings run once.
   */
  async tick(now: number): Promise<TickResult> {
    return (await tickGuards(this.source, [this], now))[0]!;
  }

  /** What the rules due at `now` need read, as of `now` less the rules' `evaluationOffset`. */
  plan(now: number): TickPlan {
    const rules = rulesDue(this.ctx, this.state, now);
    return { now, request: { rules, asOf: now - this.ctx.ruleset.evaluationOffsetMs, target: this.target, file: this.file } };
  }

  /** The engine's step on what `plan` asked for, committed to the decision log. */
  apply(plan: TickPlan, observed: ReadonlyMap<string, Observation>): TickResult {
    const { now } = plan;
    const result = step(this.ctx, this.state, now, observed);
    const decided = [...this.resolveOrphans(now), ...result.decisions];
    // Nothing evaluated and nothing decided (release over, or before its start): nothing to write.
    const decisions = result.evaluations.length || decided.length ? this.store.recordInstant(this.stored.id, now, result.state, result.evaluations, decided) : [];
    // Only once written: a write that failed (disk full) leaves the state and the orphans for the next instant.
    this.state = result.state;
    this.orphans = [];
    return { at: now, evaluations: result.evaluations, decisions, state: result.state };
  }

  private resolveOrphans(now: number): Decision[] {
    if (this.state.outcome) this.orphans = []; // the release is over: its pages ended with it
    const { release, ruleset } = this.ctx;
    return this.orphans.map((o) => ({
      at: now, action: 'resolve', tier: o.tier, rule: o.rule, level: o.level, value: null, threshold: null, mode: o.mode,
      evidence: {
        rule: o.rule, ...(o.tier ? { tier: o.tier } : {}), value: null, threshold: null,
        release: { startedAt: release.startedAt, severity: release.severity, windowEnd: release.startedAt + release.windowMs }, rulesHash: ruleset.hash,
        note: `${o.rule} is no longer in the rules file (removed or renamed by a reload): its page is closed`,
      },
    }));
  }
}
