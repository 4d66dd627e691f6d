import { RollbackGuardError } from './rollback-guard-error.js';

export type ApprovalErrorCode = 'RG_APPROVAL_NOT_FOUND' | 'RG_APPROVAL_ALREADY_DECIDED' | 'RG_APPROVAL_GONE' | 'RG_APPROVAL_INVALID' | 'RG_APPROVAL_FORBIDDEN';

const STATUS: Record<ApprovalErrorCode, number> = {
  RG_APPROVAL_NOT_FOUND: 404,
  RG_APPROVAL_ALREADY_DECIDED: 409,
  RG_APPROVAL_GONE: 410,
  RG_APPROVAL_INVALID: 400,
  RG_APPROVAL_FORBIDDEN: 403,
};

/** An approve / decline that cannot be done; `httpStatus` is what the API answers. */
export class ApprovalError extends RollbackGuardError {
  readonly httpStatus: number;

  constructor(code: ApprovalErrorCode, message: string, options?: { cause?: unknown }) {
    super(code, message, options);
    this.httpStatus = STATUS[code];
  }
}
