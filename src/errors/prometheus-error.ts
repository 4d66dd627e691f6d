import { RollbackGuardError } from './rollback-guard-error.js';

/**
 * Why a Prometheus query got no answer. Stable codes:
 * - RG_PROM_UNREACHABLE: connection refused, reset, DNS, TLS (retried within the budget)
 * - RG_PROM_TIMEOUT: no answer within the per-query timeout
 * - RG_PROM_UNAVAILABLE: 5xx or 429 until the retry budget ran out
 * - RG_PROM_BAD_QUERY: Prometheus rejected the query (`bad_data`, 4xx); never retried
 * - RG_PROM_BAD_RESPONSE: not the Prometheus API's JSON (an HTML error page from a proxy, a wrong result type)
 * - RG_PROM_CREDENTIALS: the bearer token or password file cannot be read; nothing was sent, never retried
 * Messages never include credentials or headers.
 */
export type PrometheusErrorCode = 'RG_PROM_UNREACHABLE' | 'RG_PROM_TIMEOUT' | 'RG_PROM_UNAVAILABLE' | 'RG_PROM_BAD_QUERY' | 'RG_PROM_BAD_RESPONSE' | 'RG_PROM_CREDENTIALS';

export class PrometheusError extends RollbackGuardError {
  declare readonly code: PrometheusErrorCode;
  /** HTTP status, when there was a response. */
  readonly status: number | undefined;
  /** Attempts made (1 when not retried). */
  readonly attempts: number;

  constructor(code: PrometheusErrorCode, message: string, options: { status?: number; attempts?: number; cause?: unknown } = {}) {
    super(code, message, options.cause !== undefined ? { cause: options.cause } : undefined);
    this.status = options.status;
    this.attempts = options.attempts ?? 1;
  }
}
