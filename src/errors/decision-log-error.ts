import { RollbackGuardError } from './rollback-guard-error.js';

/** The decision log file cannot be opened, migrated or written. */
export class DecisionLogError extends RollbackGuardError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('RG_DECISION_LOG', message, options);
  }
}
