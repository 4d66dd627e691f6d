import { RollbackGuardError } from './rollback-guard-error.js';

/** A per-target rules file cannot be bound to a target: a placeholder needs what the target does not give. */
export class TargetBindingError extends RollbackGuardError {
  constructor(message: string) {
    super('RG_TARGET_BINDING', message);
  }
}
