import { RollbackGuardError } from './rollback-guard-error.js';

/** One problem found in a rules file, located by line and column (1-based). */
export interface RulesProblem {
  file: string;
  line: number;
  column: number;
  /** The rule the problem is in, when it is inside `rules:`. */
  rule?: string;
  message: string;
}

export function formatProblem(p: RulesProblem): string {
  return `${p.file}:${p.line}:${p.column}: ${p.rule ? `rule "${p.rule}": ` : ''}${p.message}`;
}

/** A rules file that cannot be used: every problem found is listed, not just the first. */
export class RulesInvalidError extends RollbackGuardError {
  readonly problems: readonly RulesProblem[];

  constructor(file: string, problems: RulesProblem[], options?: { cause?: unknown }) {
    const head = `${file}: ${problems.length} problem${problems.length === 1 ? '' : 's'} in the rules file`;
    super('RG_RULES_INVALID', [head, ...problems.map((p) => `  ${formatProblem(p)}`)].join('\n'), options);
    this.problems = problems;
  }
}
