// The decision engine. Like Prometheus's AlertingRule.Eval(ts, query), it never reads a clock or a backend:
// time, query results and the previous state are arguments; the next state, the evaluations and the decisions
// are the result. Replay and the daemon both drive it through the same tick, so they decide the same.
import { dueEscalations, firstLevel, type OpenPage } from './escalation.js';
import { judgeBurnRate } from './burn-rate.js';
import { judgeCanary, type CanaryJudgement } from './canary-judge.js';
import { readScalar, type Labels, type QueryOutcome, type RangeOutcome, type ScalarReading, type SeriesSample } from './query-outcome.js';
import { windowEnd, type Release } from './release.js';
import { breaches, type JudgeRule, type Rule, type RuleMode, type Ruleset, type Tier } from './ruleset.js';

export type RuleState = 'inactive' | 'pending' | 'firing';

/**
 * What a rule's data said at one instant.
 * - breach / pass: a number was compared with the threshold.
 * - no-data: empty result or NaN (a breach instead when the rule says `noData: breach`).
 * - no-traffic: the rule's `when` traffic floor was not met.
 * - no-baseline: the threshold refers to a baseline that has no value.
 * - no-stable: the threshold is relative to the stable Deployment, which has no value (or none is named).
 * - error: the query (or its traffic floor) could not be answered.
 * - marginal: a canary judge scored between its marginal and pass thresholds: neither healthy nor failed.
 * Only breach and pass move a rule; the others hold its state (see docs/adr/0002).
 */
export type Verdict = 'breach' | 'pass' | 'no-data' | 'no-traffic' | 'no-baseline' | 'no-stable' | 'error' | 'marginal';

export type Action = 'rollback' | 'page' | 'escalate' | 'resolve' | 'promote';

/** A rule's memory between instants; persisted so a restart resumes `for` clocks and open pages. */
export interface RuleMemory {
  state: RuleState;
  /** When the current run of breaches began (pending or firing). */
  activeAt?: number;
  firedAt?: number;
  /** A firing rule's last breach seen (for giving up on a page whose data went unknown after the window). */
  seenAt?: number;
  /**
   * The open page of a firing rule (also kept for shadow pages, which are logged but never sent), with the rule's
   * mode and tier then: a page whose rule later leaves the rules file is closed as what it was.
   */
  page?: OpenPage & { mode?: RuleMode; tier?: Tier };
}

export interface ReleaseState {
  outcome?: { kind: 'rolled-back' | 'promoted'; at: number };
  rules: Record<string, RuleMemory>;
  /**
   * Open pages of manual considered triggers (no rule, no data to resolve them): escalated on the same ladder until
   * decided (approved or declined), closed when the release ends. `note` says who raised it and why.
   */
  manual?: (OpenPage & { note?: string })[];
}

/** What the queries of one rule returned at one instant (core/rule-parts.ts says which a rule reads). */
export interface Observation {
  value?: QueryOutcome;
  /** The `when` traffic floor's result, for rules that have one. */
  guard?: QueryOutcome;
  /** A `stable` threshold's reading: the same query for the stable Deployment, at the same instant. */
  stable?: QueryOutcome;
  /** A burn-rate pair's short window (`value` is its long window). */
  short?: QueryOutcome;
  /** A canary judge's samples, by `canary:<metric>` and `stable:<metric>`. */
  samples?: Readonly<Record<string, RangeOutcome>>;
}

export interface Evaluation {
  rule: string;
  at: number;
  verdict: Verdict;
  state: RuleState;
  value: number | null;
  threshold: number | null;
  labels?: Labels;
  detail?: string;
}

export interface Evidence {
  rule?: string;
  tier?: Tier;
  query?: string;
  comparison?: 'above' | 'below';
  value: number | null;
  threshold: number | null;
  baseline?: { name: string; value: number; factor: number };
  /** A canary's threshold: the stable Deployment's value of the same query then, x factor + plus. */
  stable?: { query: string; value: number; factor: number; plus: number };
  labels?: Labels;
  /** The run of breaches that made the rule fire: from `activeAt` to the decision. */
  breachingSince?: number;
  forMs?: number;
  guard?: { query: string; value: number | null; comparison: 'above' | 'below'; bound: number };
  /** An escalation or resolve of a manual page (no rule): when that page went out, which identifies it. */
  pagedAt?: number;
  /** A burn-rate pair: the SLO, the rate, and each window's burn rate then. */
  burnRate?: { objective: number; rate: number; long: { window: string; burnRate: number | null }; short: { window: string; burnRate: number | null } };
  /** A canary judge: the score, its thresholds, and each metric's verdict with its p-value and effect size. */
  judge?: CanaryJudgement & { pass: number; marginal: number };
  /**
   * A resolve that is not a recovery: after the window, the rule's data stayed unknown (no breach, no pass) for
   * `giveUpAfter`, so the guard stopped watching it. Its page is left open for a human, with this said.
   */
  gaveUp?: { unknownSince: number; afterMs: number };
  /** Other immediate rules that fired at the same instant (a rollback names the first). */
  alsoFiring?: string[];
  release: { startedAt: number; severity: string; windowEnd: number };
  rulesHash: string;
  note?: string;
}

export interface Decision {
  at: number;
  action: Action;
  tier: Tier | null;
  rule: string | null;
  level?: number;
  value: number | null;
  threshold: number | null;
  mode: RuleMode;
  evidence: Evidence;
}

export interface EngineContext {
  ruleset: Ruleset;
  release: Release;
  /** Each baseline's reading at the release start. */
  baselines: Readonly<Record<string, ScalarReading>>;
}

export interface StepResult {
  state: ReleaseState;
  evaluations: Evaluation[];
  decisions: Decision[];
}

export function initialState(ruleset: Ruleset): ReleaseState {
  return { rules: Object.fromEntries(ruleset.rules.map((r) => [r.name, { state: 'inactive' } satisfies RuleMemory])) };
}

/**
 * The rules that need data at `at`: none once the release is over or before it starts; all inside the window;
 * after it, only rules with an open page (they can still escalate or resolve) and rules that were still holding
 * a breach when the window ended (they fire or pass: a 15m hold on a 15m hotfix window must still decide).
 */
export function rulesDue(ctx: EngineContext, state: ReleaseState, at: number): Rule[] {
  if (state.outcome || at < ctx.release.startedAt) return [];
  if (at < windowEnd(ctx.release)) return ctx.ruleset.rules;
  return ctx.ruleset.rules.filter((r) => state.rules[r.name]?.page !== undefined || holdsPromotion(r, state, at));
}

/**
 * A rule that keeps a release open past its window: not shadow, and paged, or pending for less than twice its
 * hold. A breach that goes on fires after one hold; only unknown data (no traffic at night, errors, a daemon that
 * was down) can keep it pending longer, and that must not keep a release open without end (ADR 0010).
 */
function holdsPromotion(rule: Rule, state: ReleaseState, at: number): boolean {
  const mem = state.rules[rule.name];
  if (rule.mode === 'shadow' || !mem) return false;
  if (mem.page !== undefined) return true;
  return mem.state === 'pending' && at < (mem.activeAt ?? at) + 2 * rule.forMs;
}

/** Evaluates every due rule at `at` and returns the next state with what was seen and decided. */
export function step(ctx: EngineContext, prev: ReleaseState, at: number, observations: ReadonlyMap<string, Observation>): StepResult {
  const due = rulesDue(ctx, prev, at);
  const state: ReleaseState = { rules: { ...prev.rules } };
  if (prev.outcome) state.outcome = prev.outcome;
  if (prev.manual) state.manual = prev.manual;
  const evaluations: Evaluation[] = [];
  const pending: Decision[] = [];
  const rollbacks: Decision[] = [];
  if (state.outcome || at < ctx.release.startedAt) return { state, evaluations, decisions: [] };

  for (const rule of due) {
    const before = prev.rules[rule.name] ?? { state: 'inactive' };
    const seen = judge(ctx, rule, observations.get(rule.name));
    const mem = transition(before, seen.verdict, at, rule.forMs);
    state.rules[rule.name] = mem;
    const ev: Evaluation = { rule: rule.name, at, verdict: seen.verdict, state: mem.state, value: seen.value, threshold: seen.threshold };
    if (seen.labels) ev.labels = seen.labels;
    if (seen.detail) ev.detail = seen.detail;
    evaluations.push(ev);
    const unknownSince = mem.state === 'firing' && mem.page ? givenUpSince(ctx, mem, seen.verdict, at) : undefined;

    if (before.state !== 'firing' && mem.state === 'firing') {
      if (rule.tier === 'immediate' && rule.mode !== 'page-only') {
        // enforce: the release's rollback; shadow: logged as what would have happened, nothing else changes.
        (rule.mode === 'enforce' ? rollbacks : pending).push(decision(ctx, rule, seen, mem, at, 'rollback'));
      } else {
        const level = firstLevel(ctx.ruleset.escalation);
        mem.page = { level, pagedAt: at, mode: rule.mode, tier: rule.tier };
        pending.push(decision(ctx, rule, seen, mem, at, 'page', level));
      }
    } else if (mem.page && unknownSince !== undefined) {
      // Unknown since the window ended (or since the last breach after it) for `giveUpAfter`: stop holding the
      // release open for it. The page is closed here and announced as given up, never as resolved.
      const d = decision(ctx, rule, seen, mem, at, 'resolve', mem.page.level);
      d.evidence.gaveUp = { unknownSince, afterMs: ctx.ruleset.giveUpAfterMs };
      d.evidence.note = `gave up: no breach or pass seen for ${Math.round((at - unknownSince) / 60_000)}m after the window${seen.detail ? ` (${seen.detail})` : ''}; the page is left for a human to close`;
      state.rules[rule.name] = { state: 'inactive' };
      ev.state = 'inactive';
      pending.push(d);
    } else if (mem.state === 'firing' && mem.page) {
      for (const s of dueEscalations(ctx.ruleset.escalation, mem.page, at)) {
        mem.page = { ...mem.page, level: s.level };
        pending.push(decision(ctx, rule, seen, mem, at, 'escalate', s.level));
      }
    } else if (before.state === 'firing' && mem.state !== 'firing' && before.page) {
      pending.push(decision(ctx, rule, seen, mem, at, 'resolve', before.page.level));
    }
  }

  // A manual page climbs the ladder like a rule's page until someone decides (an approval ends the release).
  if (prev.manual?.length) {
    state.manual = prev.manual.map((open) => {
      let page = open;
      for (const s of dueEscalations(ctx.ruleset.escalation, page, at)) {
        page = { ...page, level: s.level };
        pending.push(manualDecision(ctx, 'escalate', page, at, `${open.note ?? 'manual page'} (paged ${new Date(open.pagedAt).toISOString()}): still undecided`));
      }
      return page;
    });
  }

  const first = rollbacks[0];
  if (first) {
    // One rollback per release; it supersedes whatever else this instant would have said.
    if (rollbacks.length > 1) first.evidence.alsoFiring = rollbacks.slice(1).map((d) => d.rule ?? '');
    state.outcome = { kind: 'rolled-back', at };
    return { state, evaluations, decisions: [first] };
  }

  if (at >= windowEnd(ctx.release)) {
    // Promotion waits for every page to resolve and every held breach to fire or pass: a release is never called
    // healthy while a rule is part-way through its `for`.
    const held = ctx.ruleset.rules.filter((r) => holdsPromotion(r, state, at));
    if (held.length === 0) {
      const late = ctx.ruleset.rules.some((r) => r.mode !== 'shadow' && (prev.rules[r.name]?.page !== undefined || prev.rules[r.name]?.state === 'pending'));
      const gaveUp = pending.filter((d) => d.evidence.gaveUp && d.mode !== 'shadow').map((d) => d.rule);
      const unresolved = ctx.ruleset.rules.filter((r) => r.mode !== 'shadow' && state.rules[r.name]?.state === 'pending').map((r) => r.name);
      state.outcome = { kind: 'promoted', at };
      // Its manual pages end with it: their incidents are resolved, saying they were never decided.
      for (const page of state.manual ?? []) pending.push(manualDecision(ctx, 'resolve', page, at, `${page.note ?? 'manual page'} (paged ${new Date(page.pagedAt).toISOString()}): never decided; closed as the release was promoted`));
      pending.push({
        at,
        action: 'promote',
        tier: null,
        rule: null,
        value: null,
        threshold: null,
        mode: 'enforce',
        evidence: {
          value: null,
          threshold: null,
          release: releaseEvidence(ctx),
          rulesHash: ctx.ruleset.hash,
          note:
            (late ? 'guard window ended earlier; promoted once no rule was firing or holding a breach' : 'guard window ended with no rollback and no rule firing or holding a breach') +
            (unresolved.length ? `; stopped waiting on ${unresolved.join(', ')}: pending for twice its hold with no breach or pass seen (unknown data)` : '') +
            (gaveUp.length ? `; gave up on the page of ${gaveUp.join(', ')}: no breach or pass seen for giveUpAfter after the window (unknown data)` : '') +
            (state.manual?.length ? `; ${state.manual.length} manual page${state.manual.length === 1 ? ' was' : 's were'} never decided` : ''),
        },
      });
    }
  }
  return { state, evaluations, decisions: pending };
}

/** An escalation or resolve of a manual page: no rule and no value; the page's time identifies it. */
function manualDecision(ctx: EngineContext, action: 'escalate' | 'resolve', page: OpenPage, at: number, note: string): Decision {
  return {
    at, action, tier: 'considered', rule: null, level: page.level, value: null, threshold: null, mode: 'enforce',
    evidence: { value: null, threshold: null, release: releaseEvidence(ctx), rulesHash: ctx.ruleset.hash, pagedAt: page.pagedAt, note },
  };
}

/**
 * For a firing rule's page after the window whose data has been unknown for `giveUpAfter` (0: never give up): since
 * when it has been unknown (the window's end, or the last breach after it). Undefined while the guard keeps waiting.
 */
function givenUpSince(ctx: EngineContext, mem: RuleMemory, verdict: Verdict, at: number): number | undefined {
  const limit = ctx.ruleset.giveUpAfterMs;
  if (limit <= 0 || verdict === 'breach' || verdict === 'pass' || at < windowEnd(ctx.release)) return undefined;
  const since = Math.max(mem.seenAt ?? mem.firedAt ?? at, windowEnd(ctx.release));
  return at - since >= limit ? since : undefined;
}

function transition(before: RuleMemory, verdict: Verdict, at: number, forMs: number): RuleMemory {
  if (verdict === 'pass') return { state: 'inactive' };
  if (verdict === 'breach' && before.state === 'firing') return { ...before, seenAt: at };
  // Unknown is neither healthy nor a breach: hold. Copies, because the caller updates the page in place.
  if (verdict !== 'breach' || before.state === 'firing') return { ...before };
  const activeAt = before.state === 'inactive' ? at : (before.activeAt ?? at);
  if (at - activeAt >= forMs) return { state: 'firing', activeAt, firedAt: at };
  return { state: 'pending', activeAt };
}

export interface Judgement {
  verdict: Verdict;
  value: number | null;
  threshold: number | null;
  labels?: Labels;
  detail?: string;
  baseline?: { name: string; value: number; factor: number };
  stable?: { value: number; factor: number; plus: number };
  guardValue?: number | null;
  burn?: { long: number | null; short: number | null };
  canary?: CanaryJudgement;
}

/**
 * A rule's `when` traffic floor: the judgement to stop at (floor not met, or unreadable), or undefined to go on
 * (with the floor's value kept in `j` for the evidence).
 */
function trafficFloor(rule: Rule, obs: Observation, j: Judgement): Judgement | undefined {
  if (!rule.when) return undefined;
  const g = readScalar(obs.guard ?? { kind: 'error', error: 'traffic floor query was not run' });
  if (g.kind === 'error') {
    j.detail = `traffic floor: ${g.error}`;
    return j;
  }
  if (g.kind === 'several-series') {
    j.detail = `traffic floor query returned ${g.count} series; it must return one (aggregate it with sum())`;
    return j;
  }
  j.guardValue = g.kind === 'value' ? g.value : null;
  if (g.kind === 'no-data' || !breaches(rule.when.comparison, g.value, rule.when.bound)) {
    j.verdict = 'no-traffic';
    j.detail = `traffic floor not met: ${j.guardValue === null ? 'no data' : j.guardValue} is not ${rule.when.comparison} ${rule.when.bound}`;
    return j;
  }
  return undefined;
}

// Hot path (a week-long replay evaluates it hundreds of thousands of times): no closures, one result object.
export function judge(ctx: EngineContext, rule: Rule, obs: Observation | undefined): Judgement {
  if (rule.kind === 'burn-rate') {
    const j: Judgement = { verdict: 'error', value: null, threshold: rule.slo.burnRate };
    if (!obs) {
      j.detail = 'query was not run';
      return j;
    }
    const stop = trafficFloor(rule, obs, j);
    if (stop) return stop;
    const b = judgeBurnRate(rule, obs.value, obs.short);
    j.verdict = b.verdict;
    j.value = b.value;
    j.burn = { long: b.long, short: b.short };
    if (b.detail) j.detail = b.detail;
    return j;
  }
  if (rule.kind === 'judge') return judgeRule(rule, obs);
  let threshold: number;
  let baseline: Judgement['baseline'];
  let stable: Judgement['stable'];
  if (rule.threshold.kind === 'static') threshold = rule.threshold.value;
  else if (rule.threshold.kind === 'stable') {
    // A canary against the stable Deployment at this same instant. Without a stable value the rule cannot be
    // judged: an explicit state that holds it, like a missing baseline (never healthy, never a breach).
    const { factor, plus } = rule.threshold;
    const reading = readScalar(obs?.stable ?? { kind: 'error', error: rule.stableProblem ?? (rule.stableQuery === undefined ? 'this target names no stable Deployment (compareTo)' : 'stable query was not run') });
    if (reading.kind !== 'value') return { verdict: 'no-stable', value: null, threshold: null, detail: `stable: ${describeReading(reading)}` };
    threshold = reading.value * factor + plus;
    stable = { value: reading.value, factor, plus };
  } else {
    const { baseline: name, factor } = rule.threshold;
    const reading = ctx.baselines[name];
    if (!reading || reading.kind !== 'value') {
      return { verdict: 'no-baseline', value: null, threshold: null, detail: `baseline ${name}: ${describeReading(reading)}` };
    }
    threshold = reading.value * factor;
    baseline = { name, value: reading.value, factor };
  }
  const j: Judgement = { verdict: 'error', value: null, threshold };
  if (baseline) j.baseline = baseline;
  if (stable) j.stable = stable;
  if (!obs) {
    j.detail = 'query was not run';
    return j;
  }
  const stop = trafficFloor(rule, obs, j);
  if (stop) return stop;

  const out = obs.value ?? { kind: 'error', error: 'query was not run' };
  if (out.kind === 'error') {
    j.detail = out.error;
    return j;
  }
  // Several series breach if any does; the worst breaching one is the evidence. Otherwise the value reported
  // is the one closest to breaching. NaN series carry no number and are skipped.
  const above = rule.comparison === 'above';
  let worst: SeriesSample | undefined;
  let closest: SeriesSample | undefined;
  if (out.kind === 'series') {
    for (const s of out.series) {
      const v = s.value;
      if (v !== v) continue; // NaN
      if (above ? v > threshold : v < threshold) {
        if (!worst || (above ? v > worst.value : v < worst.value)) worst = s;
      } else if (!closest || (above ? v > closest.value : v < closest.value)) closest = s;
    }
  }
  const pick = worst ?? closest;
  if (pick) {
    j.verdict = worst ? 'breach' : 'pass';
    j.value = pick.value;
    j.labels = pick.labels;
    return j;
  }
  j.verdict = rule.noData === 'breach' ? 'breach' : 'no-data';
  j.detail = out.kind === 'empty' ? 'empty result' : 'every series is NaN';
  return j;
}

/**
 * A canary judge: fail is a breach, pass a pass; marginal and no-data hold the rule (no-data is a breach when the
 * rule says `noData: breach`). A side that could not be read, or a canary without a stable Deployment, is unknown.
 * The value is the score, the threshold the marginal score (a fail is below it; a critical failure scores 0).
 */
function judgeRule(rule: JudgeRule, obs: Observation | undefined): Judgement {
  const j: Judgement = { verdict: 'error', value: null, threshold: rule.judge.marginal };
  if (rule.stableProblem !== undefined || rule.judge.metrics.some((m) => m.stableQuery === undefined)) {
    return { verdict: 'no-stable', value: null, threshold: null, detail: `stable: ${rule.stableProblem ?? 'this target names no stable Deployment (compareTo)'}` };
  }
  if (!obs) {
    j.detail = 'query was not run';
    return j;
  }
  const stop = trafficFloor(rule, obs, j);
  if (stop) return stop;
  const samples = new Map<string, { canary: number[]; stable: number[] }>();
  const problems: string[] = [];
  for (const m of rule.judge.metrics) {
    const side = (key: string, who: string): number[] => {
      const o = obs.samples?.[key] ?? { kind: 'error', error: 'query was not run' };
      if (o.kind === 'error') problems.push(`${m.name} (${who}): ${o.error}`);
      return o.kind === 'range' ? o.series.flatMap((s) => s.values) : [];
    };
    samples.set(m.name, { canary: side(`canary:${m.name}`, 'canary'), stable: side(`stable:${m.name}`, 'stable') });
  }
  if (problems.length) {
    j.detail = problems.join('; ');
    return j;
  }
  const c = judgeCanary(rule.judge, samples);
  j.canary = c;
  j.value = c.score;
  j.verdict = c.result === 'fail' ? 'breach' : c.result === 'pass' ? 'pass' : c.result === 'marginal' ? 'marginal' : rule.noData === 'breach' ? 'breach' : 'no-data';
  if (c.result !== 'pass') {
    const notable = c.metrics.filter((m) => m.verdict !== 'pass').map((m) => `${m.metric} ${m.verdict}${m.criticalFailure ? ' (critical)' : ''}`);
    j.detail = `judgement ${c.result}, score ${c.score ?? 'n/a'}${notable.length ? `: ${notable.join(', ')}` : ''}`;
  }
  return j;
}

function describeReading(r: ScalarReading | undefined): string {
  if (!r) return 'not evaluated';
  switch (r.kind) {
    case 'value':
      return String(r.value);
    case 'no-data':
      return 'no data at the release start';
    case 'several-series':
      return `query returned ${r.count} series; a baseline must return one`;
    case 'error':
      return r.error;
  }
}

function releaseEvidence(ctx: EngineContext): Evidence['release'] {
  return { startedAt: ctx.release.startedAt, severity: ctx.release.severity, windowEnd: windowEnd(ctx.release) };
}

function decision(ctx: EngineContext, rule: Rule, seen: Judgement, mem: RuleMemory, at: number, action: Action, level?: number): Decision {
  const d: Decision = { at, action, tier: rule.tier, rule: rule.name, value: seen.value, threshold: seen.threshold, mode: rule.mode, evidence: makeEvidence(ctx, rule, seen, mem) };
  if (level !== undefined) d.level = level;
  return d;
}

function makeEvidence(ctx: EngineContext, rule: Rule, j: Judgement, mem: RuleMemory): Evidence {
  const e: Evidence = {
    rule: rule.name,
    tier: rule.tier,
    ...(rule.kind === 'judge' ? {} : { query: rule.query }),
    comparison: rule.kind === 'judge' ? 'below' : rule.comparison,
    value: j.value,
    threshold: j.threshold,
    forMs: rule.forMs,
    release: releaseEvidence(ctx),
    rulesHash: ctx.ruleset.hash,
  };
  if (j.baseline) e.baseline = j.baseline;
  if (j.stable && rule.kind !== 'judge' && rule.kind !== 'burn-rate' && rule.stableQuery) e.stable = { query: rule.stableQuery, ...j.stable };
  if (rule.kind === 'burn-rate' && j.burn) e.burnRate = { objective: rule.slo.objective, rate: rule.slo.burnRate, long: { window: rule.slo.long, burnRate: j.burn.long }, short: { window: rule.slo.short, burnRate: j.burn.short } };
  if (rule.kind === 'judge' && j.canary) e.judge = { ...j.canary, pass: rule.judge.pass, marginal: rule.judge.marginal };
  if (j.labels) e.labels = j.labels;
  if (mem.activeAt !== undefined) e.breachingSince = mem.activeAt;
  if (rule.when) e.guard = { query: rule.when.query, value: j.guardValue ?? null, comparison: rule.when.comparison, bound: rule.when.bound };
  if (j.detail) e.note = j.detail;
  return e;
}
