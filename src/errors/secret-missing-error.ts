import { RollbackGuardError } from './rollback-guard-error.js';

/** A secret (token, routing key, signing secret) is not set or its file cannot be read. Never carries the value. */
export class SecretMissingError extends RollbackGuardError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('RG_SECRET_MISSING', message, options);
  }
}
