import { RollbackGuardError } from './rollback-guard-error.js';

/** A command-line argument or option that cannot be used as given. */
export class UsageError extends RollbackGuardError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('RG_USAGE', message, options);
  }
}
