// Prometheus connection settings from flags and environment. Secrets come only from the environment or files,
// never from flags (flags show up in `ps` and shell history).
import type { Command } from 'commander';
import type { PrometheusConnection } from '../adapters/prometheus/prometheus-client.js';
import { UsageError } from '../errors/usage-error.js';
import { parseDurationOption } from './option-parsers.js';

export interface PrometheusFlags {
  prometheus?: string;
  prometheusHeader?: string[];
  prometheusTimeout?: string;
  prometheusRetryBudget?: string;
}

/** Adds --prometheus, --prometheus-header and --prometheus-timeout to a command. */
export function addPrometheusOptions(cmd: Command): Command {
  return cmd
    .option('--prometheus <url>', 'Prometheus (or Thanos, Mimir, VictoriaMetrics) base URL, with any path prefix (env PROMETHEUS_URL)')
    .option('--prometheus-header <name: value>', 'extra request header, repeatable, e.g. "X-Scope-OrgID: voice" (env PROMETHEUS_HEADERS, one per line)', (v: string, prev: string[] = []) => [...prev, v])
    .option('--prometheus-timeout <duration>', 'per-query timeout (env PROMETHEUS_TIMEOUT; default 10s)')
    .option('--prometheus-retry-budget <duration>', 'how long one query may keep retrying connection errors, 5xx and 429 (env PROMETHEUS_RETRY_BUDGET; default 15s, in run one evaluation interval)');
}

function parseHeader(text: string, where: string): [string, string] {
  const m = /^\s*([A-Za-z0-9!#$%&'*+.^_`|~-]+)\s*[:=]\s*(.*?)\s*$/.exec(text);
  if (!m) throw new UsageError(`${where}: ${JSON.stringify(text)} is not a header; write it like "X-Scope-OrgID: voice"`);
  return [m[1]!, m[2]!];
}

/** The connection, or undefined when no Prometheus URL was given. */
export function prometheusConnection(flags: PrometheusFlags, env: NodeJS.ProcessEnv = process.env): PrometheusConnection | undefined {
  const url = flags.prometheus ?? env.PROMETHEUS_URL;
  if (!url) return undefined;
  const headers: Record<string, string> = {};
  for (const line of (env.PROMETHEUS_HEADERS ?? '').split('\n').filter((l) => l.trim())) {
    const [k, v] = parseHeader(line, 'PROMETHEUS_HEADERS');
    headers[k] = v;
  }
  for (const h of flags.prometheusHeader ?? []) {
    const [k, v] = parseHeader(h, '--prometheus-header');
    headers[k] = v;
  }
  const timeout = flags.prometheusTimeout ?? env.PROMETHEUS_TIMEOUT;
  const conn: PrometheusConnection = { url, headers };
  if (timeout) conn.timeoutMs = parseDurationOption(flags.prometheusTimeout ? '--prometheus-timeout' : 'PROMETHEUS_TIMEOUT', timeout);
  const budget = flags.prometheusRetryBudget ?? env.PROMETHEUS_RETRY_BUDGET;
  if (budget) conn.retryBudgetMs = parseDurationOption(flags.prometheusRetryBudget ? '--prometheus-retry-budget' : 'PROMETHEUS_RETRY_BUDGET', budget);
  if (env.PROMETHEUS_BEARER_TOKEN_FILE) conn.bearerTokenFile = env.PROMETHEUS_BEARER_TOKEN_FILE;
  else if (env.PROMETHEUS_BEARER_TOKEN) conn.bearerToken = env.PROMETHEUS_BEARER_TOKEN;
  if (env.PROMETHEUS_USERNAME) {
    if (conn.bearerToken || conn.bearerTokenFile) throw new UsageError('set either a bearer token (PROMETHEUS_BEARER_TOKEN[_FILE]) or basic auth (PROMETHEUS_USERNAME), not both');
    conn.basicAuth = { username: env.PROMETHEUS_USERNAME, ...(env.PROMETHEUS_PASSWORD_FILE ? { passwordFile: env.PROMETHEUS_PASSWORD_FILE } : { password: env.PROMETHEUS_PASSWORD ?? '' }) };
  }
  if (env.PROMETHEUS_CA_FILE) conn.caFile = env.PROMETHEUS_CA_FILE;
  if (env.PROMETHEUS_INSECURE_SKIP_VERIFY !== undefined) {
    const v = env.PROMETHEUS_INSECURE_SKIP_VERIFY.toLowerCase();
    if (!['true', 'false', '1', '0', ''].includes(v)) throw new UsageError(`PROMETHEUS_INSECURE_SKIP_VERIFY=${JSON.stringify(env.PROMETHEUS_INSECURE_SKIP_VERIFY)}: use true or false`);
    conn.insecureSkipVerify = v === 'true' || v === '1';
  }
  return conn;
}
