// The validated, compiled form of a rules file that the engine works with: durations in milliseconds,
// thresholds resolved to one comparison each.
import type { Severity, SmtpTls, SummaryFormat, TemplateName } from './rules-schema.js';

export type Comparison = 'above' | 'below';
export type Tier = 'immediate' | 'considered';
export type RuleMode = 'enforce' | 'page-only' | 'shadow';

export type Threshold =
  | { kind: 'static'; value: number }
  | { kind: 'baseline'; baseline: string; factor: number }
  /** A canary's: the stable Deployment's value of the same query at the same instant, x factor + plus. */
  | { kind: 'stable'; factor: number; plus: number };

/** Where something was written in the rules file (1-based), for messages about it. */
export interface SourcePosition {
  line: number;
  column: number;
}

export interface TrafficGuard {
  query: string;
  queryAt?: SourcePosition;
  comparison: Comparison;
  bound: number;
}

interface RuleBase {
  name: string;
  description?: string;
  tier: Tier;
  queryAt?: SourcePosition;
  forMs: number;
  noData: 'ignore' | 'breach';
  when?: TrafficGuard;
  mode: RuleMode;
}

/** A value against a threshold (the rule kind every rule had before `slo:` and `judge:`). */
export interface ThresholdRule extends RuleBase {
  kind?: 'threshold';
  query: string;
  comparison: Comparison;
  threshold: Threshold;
  /** A `stable` threshold's query, bound for the stable Deployment (set by bindRuleset). */
  stableQuery?: string;
  /** Why the stable query could not be bound (its selector is not known): the rule reads no-stable. */
  stableProblem?: string;
}

/**
 * One burn-rate window pair of an `slo:` rule (core/burn-rate.ts): breaches while the error ratio over both the
 * long and the short window burns the error budget faster than `burnRate` times the sustainable rate. Named
 * `<rule>:<long>-<short>`; `query` is the long window's error ratio, `shortQuery` the short one's.
 */
export interface BurnRateRule extends RuleBase {
  kind: 'burn-rate';
  /** The `slo:` rule it was written as (the name without `:<long>-<short>`). */
  group: string;
  query: string;
  shortQuery: string;
  comparison: 'above';
  threshold: { kind: 'static'; value: number };
  slo: BurnRateWindow & { objective: number; periodMs: number };
}

export interface BurnRateWindow {
  burnRate: number;
  long: string;
  longMs: number;
  short: string;
  shortMs: number;
}

/** A canary judged against its stable Deployment by a Mann-Whitney U test per metric (core/canary-judge.ts). */
export interface JudgeRule extends RuleBase {
  kind: 'judge';
  judge: JudgeSettings;
  /** Why the stable side could not be bound (its selector is not known): the rule reads no-stable. */
  stableProblem?: string;
}

export interface JudgeSettings {
  windowMs: number;
  stepMs: number;
  /** Kayenta's: a metric is high/low only when the shift's confidence interval clears `tolerance` x the estimate. */
  tolerance: number;
  confidence: number;
  pass: number;
  marginal: number;
  metrics: JudgeMetric[];
}

export interface JudgeMetric {
  name: string;
  query: string;
  queryAt?: SourcePosition;
  /** The same query bound for the stable Deployment (set by bindRuleset). */
  stableQuery?: string;
  direction: 'increase' | 'decrease' | 'either';
  critical: boolean;
  mustHaveData: boolean;
  /** Mean ratio canary/stable a high (low) verdict must reach (fall to); Kayenta's allowedIncrease/Decrease. */
  allowedIncrease: number;
  allowedDecrease: number;
  /** A critical metric fails the judgement on its own only past these mean ratios (Kayenta's criticalIncrease/Decrease). */
  criticalIncrease: number;
  criticalDecrease: number;
  nanStrategy: 'remove' | 'replace';
}

export type Rule = ThresholdRule | BurnRateRule | JudgeRule;

export interface Baseline {
  name: string;
  query: string;
  queryAt?: SourcePosition;
}

export interface EscalationStep {
  level: number;
  afterMs: number;
}

/** How a target is rolled back; see the rules reference (`target.rollback`). */
export type RollbackSettings = { strategy: 'undo' } | { strategy: 'previous-version-annotation'; container?: string };

export interface Target {
  namespace: string;
  deployment: string;
  rollback: RollbackSettings;
  /** The stable Deployment (same namespace) this target is a canary of. */
  compareTo?: string;
}

/** `select:`: every Deployment (in `namespace`, or every namespace) whose labels include `matchLabels`. */
export interface Selection {
  namespace?: string;
  matchLabels: Record<string, string>;
  rollback: RollbackSettings;
}

/** `select:` as a Kubernetes label selector: `a=1,b=2`, sorted. */
export function labelSelectorOf(s: Selection): string {
  return Object.entries(s.matchLabels)
    .sort(([a], [b]) => (a < b ? -1 : 1))
    .map(([k, v]) => `${k}=${v}`)
    .join(',');
}

/** Whether a Deployment (namespace, labels) is one `s` selects. */
export function selects(s: Selection, namespace: string, labels: Readonly<Record<string, string>>): boolean {
  return (s.namespace === undefined || s.namespace === namespace) && Object.entries(s.matchLabels).every(([k, v]) => labels[k] === v);
}

/** Whether a rules file may guard a Deployment: listed by it, or in a namespace its fleet selects from. */
export function mayGuard(rs: Ruleset, t: { namespace: string; deployment: string }): boolean {
  return rs.targets.some((x) => x.namespace === t.namespace && x.deployment === t.deployment) || (rs.select !== undefined && (rs.select.namespace === undefined || rs.select.namespace === t.namespace));
}

/** A listed canary's stable Deployment (its `compareTo`); a fleet's Deployments have none. */
export function stableOf(rs: Ruleset, t: { namespace: string; deployment: string }): { namespace: string; deployment: string } | undefined {
  const listed = rs.targets.find((x) => x.namespace === t.namespace && x.deployment === t.deployment);
  return listed?.compareTo ? { namespace: t.namespace, deployment: listed.compareTo } : undefined;
}

/** A Deployment a fleet selected, as a target of its file (the fleet's rollback settings). */
export function selectedTarget(s: Selection, namespace: string, deployment: string): Target {
  return { namespace, deployment, rollback: s.rollback };
}

/** Who is reached at one escalation level: a routing-key *name* (the key is a secret, read elsewhere) and a mention. */
export interface NotificationLevel {
  level: number;
  pagerduty?: string;
  slack?: string;
}

export interface NotificationSettings {
  channels: { releases: string; incidents: string; engineering: string };
  /** After a completed rollback, when its post-mortem is due; 0: no POSTMORTEM message. */
  postmortemDueMs: number;
  /** Parts of a release a Deployment rollback does not revert (checklist 5.2), named in ROLLBACK_START. */
  alsoRollBack: ('client' | 'database')[];
  levels: NotificationLevel[];
  /** Immediate rules whose rollback pages level 4; undefined: every immediate rule. */
  outageRules?: string[];
  templates: Partial<Record<TemplateName, string>>;
  /** Slack user id -> approver. */
  approvers: Record<string, Approver>;
  /** Lowest escalation level allowed to approve or decline a considered rollback; 1: anyone allowed in. */
  approvalLevel: number;
  /** DEPLOY_SUCCESS placeholders filled by a query at promote time. */
  summary: Record<string, { query: string; format: SummaryFormat }>;
  pagerdutyServer: string;
  slackApiUrl: string;
  /** Who is emailed about rollbacks, from whom, through which server; undefined: nobody. */
  email?: EmailSettings;
}

/** Someone who may press Approve / Decline; `level` (1-4) when the rules file gives it. */
export interface Approver {
  name: string;
  level?: number;
}

export interface EmailSettings {
  to: string[];
  from: string;
  /** Its credentials are secrets, read from the environment by the email adapter. */
  smtp: SmtpSettings;
}

export interface SmtpSettings {
  host: string;
  port: number;
  tls: SmtpTls;
}

export interface Ruleset {
  /** Where it was read from (for messages); not part of its identity. */
  file: string;
  /** sha256 of the file's bytes, hex: recorded with every decision so the rule that fired can be found again. */
  hash: string;
  /** The file's text, kept so the decision log can store the rules exactly as they were. */
  source: string;
  /**
   * The first of `targets` (the only one with `target:`): what replay and single-target code use. Undefined for a
   * fleet (`select:`), whose Deployments are known only at run time: name one (`--target`).
   */
  target?: Target;
  /** Every listed Deployment, each with its rollback settings; empty for a fleet (`select:`). */
  targets: Target[];
  /** A fleet: Deployments chosen by label at run time. */
  select?: Selection;
  intervalMs: number;
  /** Where `interval:` was written; undefined when it is the default. */
  intervalAt?: SourcePosition;
  /** Every query of an instant reads the data as of the instant minus this (ingestion delay); default 0. */
  evaluationOffsetMs: number;
  /** How long after a rollout completes the recovery check runs; 0: none. */
  recoveryMs: number;
  /** After the window, how long a paged rule's data may stay unknown before the guard gives up on it; 0: never. */
  giveUpAfterMs: number;
  windowsMs: Record<Severity, number>;
  baselines: Baseline[];
  escalation: EscalationStep[];
  notifications: NotificationSettings;
  rules: Rule[];
}

/** A breach is "strictly above" / "strictly below": a value equal to the threshold passes. */
export function breaches(comparison: Comparison, value: number, bound: number): boolean {
  return comparison === 'above' ? value > bound : value < bound;
}
