import { RollbackGuardError } from './rollback-guard-error.js';

/**
 * A Kubernetes API call that failed. Stable codes:
 * - RG_K8S_CONFIG: no usable kubeconfig / in-cluster config / server URL
 * - RG_K8S_UNREACHABLE: connection refused, reset, DNS, TLS
 * - RG_K8S_TIMEOUT: no answer within the per-call timeout
 * - RG_K8S_FORBIDDEN: 401/403: the service account lacks a permission (see the RBAC section of the README)
 * - RG_K8S_NOT_FOUND: 404
 * - RG_K8S_CONFLICT: 409: the object changed since it was read
 * - RG_K8S_API: any other error status
 * Messages name the call and object, never credentials.
 */
export type KubernetesErrorCode = 'RG_K8S_CONFIG' | 'RG_K8S_UNREACHABLE' | 'RG_K8S_TIMEOUT' | 'RG_K8S_FORBIDDEN' | 'RG_K8S_NOT_FOUND' | 'RG_K8S_CONFLICT' | 'RG_K8S_API';

export class KubernetesError extends RollbackGuardError {
  declare readonly code: KubernetesErrorCode;
  readonly status: number | undefined;

  constructor(code: KubernetesErrorCode, message: string, options: { status?: number; cause?: unknown } = {}) {
    super(code, message, options.cause !== undefined ? { cause: options.cause } : undefined);
    this.status = options.status;
  }
}
