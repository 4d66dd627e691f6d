// The validated, compiled form of a rules file that the engine works with: durations in milliseconds,
// thresholds resolved to one comparison each.
import type { Severity } from './rules-schema.js';

export type Comparison = 'above' | 'below';
export type Tier = 'immediate' | 'considered';
export type RuleMode = 'enforce' | 'page-only' | 'shadow';

export type Threshold =
  | { kind: 'static'; value: number }
  | { kind: 'baseline'; baseline: string; factor: number };

export interface TrafficGuard {
  query: string;
  comparison: Comparison;
  bound: number;
}

export interface Rule {
  name: string;
  description?: string;
  tier: Tier;
  query: string;
  comparison: Comparison;
  threshold: Threshold;
  forMs: number;
  noData: 'ignore' | 'breach';
  when?: TrafficGuard;
  mode: RuleMode;
}

export interface Baseline {
  name: string;
  query: string;
}

export interface EscalationStep {
  level: number;
  afterMs: number;
}

export interface Ruleset {
  /** Where it was read from (for messages); not part of its identity. */
  file: string;
  /** sha256 of the file's bytes, hex: recorded with every decision so the rule that fired can be found again. */
  hash: string;
  /** The file's text, kept so the decision log can store the rules exactly as they were. */
  source: string;
  target: { namespace: string; deployment: string };
  intervalMs: number;
  windowsMs: Record<Severity, number>;
  baselines: Baseline[];
  escalation: EscalationStep[];
  rules: Rule[];
}

/** A breach is "strictly above" / "strictly below": a value equal to the threshold passes. */
export function breaches(comparison: Comparison, value: number, bound: number): boolean {
  return comparison === 'above' ? value > bound : value < bound;
}
