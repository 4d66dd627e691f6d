/**
 * The one base error of rollback-guard. `code` is stable (scripts and tests match on it); `message` says what
 * was wrong, where, and what to do.
 */
export class RollbackGuardError extends Error {
  readonly code: string;

  constructor(code: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
    this.code = code;
  }
}
