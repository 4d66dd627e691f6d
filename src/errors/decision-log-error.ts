import { RollbackGuardError } from './rollback-guard-error.js';

/** The decision log file cannot be opened, migrated or written. */
export class DecisionLogError extends RollbackGuardError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('RG_DECISION_LOG', message, options);
  }
}

/**
 * Whether an error means the decision log cannot be written: ours, or SQLite's own from a statement that bypassed
 * the store (the outbox, the action journal) on a full, read-only or failing volume.
 */
export function isDecisionLogWriteError(err: unknown): err is Error {
  if (err instanceof DecisionLogError) return true;
  const code = (err as { code?: unknown } | undefined)?.code;
  return typeof code === 'string' && /^SQLITE_(FULL|IOERR|READONLY|CANTOPEN|PROTOCOL)/.test(code);
}
