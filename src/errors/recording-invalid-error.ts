import { RollbackGuardError } from './rollback-guard-error.js';

/** A recording file that is missing, not JSON, or not of the recording format. */
export class RecordingInvalidError extends RollbackGuardError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('RG_RECORDING_INVALID', message, options);
  }
}
