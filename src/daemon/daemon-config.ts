// The daemon's settings, from flags and environment, each with its default. A bad one fails at start, naming it.
import fs from 'node:fs';
import type { PrometheusConnection } from '../adapters/prometheus/prometheus-client.js';
import { parseDuration } from '../core/duration.js';
import { UsageError } from '../errors/usage-error.js';

export interface DaemonConfig {
  rulesFiles: string[];
  db: string;
  host: string;
  port: number;
  /** Overrides the rules file's `interval`. */
  intervalMs?: number;
  dryRun: boolean;
  blindAfterMs: number;
  verifyTimeoutMs: number;
  /** Record decisions as Kubernetes Events on the Deployments (best-effort). */
  kubeEvents: boolean;
  logLevel: string;
  apiTokenFile?: string;
  apiToken?: string;
  prometheus: PrometheusConnection;
}

export interface RunFlags {
  rules?: string[];
  db?: string;
  listen?: string;
  interval?: string;
  dryRun?: boolean;
  blindAfter?: string;
  verifyTimeout?: string;
  logLevel?: string;
}

/** Every setting: flag, environment variable, default, meaning. The README's configuration table lists these. */
export const SETTINGS = [
  ['--rules FILE (repeatable)', 'ROLLBACK_GUARD_RULES (comma-separated)', 'required', 'rules files; one per guarded Deployment (its `target:`)'],
  ['--db FILE', 'ROLLBACK_GUARD_DB', 'decisions.db', 'the decision log (SQLite; keep it on a volume); `log`, `explain`, `report` and `prune` read the same variable'],
  ['--listen HOST:PORT', 'ROLLBACK_GUARD_LISTEN', '0.0.0.0:8080', 'HTTP address for /health, /ready, /metrics and the API'],
  ['--interval D', 'ROLLBACK_GUARD_INTERVAL', "the rules file's `interval` (15s)", 'evaluation interval; divides a minute (1s..30s) or an hour (1m..30m)'],
  ['--dry-run', 'ROLLBACK_GUARD_DRY_RUN=true', 'false', 'decide and log "would roll back", never patch; its rollbacks are posted to Slack marked DRY RUN, never paged or emailed'],
  ['--blind-after D', 'ROLLBACK_GUARD_BLIND_AFTER', '2m', 'Prometheus unreadable this long pages "guard blind" once'],
  ['--verify-timeout D', 'ROLLBACK_GUARD_VERIFY_TIMEOUT', '5m', "how long to wait for a rollback's rollout to complete (in the background: other targets keep being evaluated; ROLLBACK_COMPLETE and the recovery check follow it)"],
  ['--log-level L', 'LOG_LEVEL', 'info', 'pino level: fatal, error, warn, info, debug, trace, silent'],
  ['', 'ROLLBACK_GUARD_API_TOKEN / ROLLBACK_GUARD_API_TOKEN_FILE', 'none (API off)', 'bearer token for POST /v1/triggers and approvals'],
  ['--kube-server URL', 'ROLLBACK_GUARD_KUBE_SERVER', 'in-cluster config, else KUBECONFIG / ~/.kube/config', 'Kubernetes API server (token file: ROLLBACK_GUARD_KUBE_TOKEN_FILE)'],
  ['--kube-timeout D', '', '10s', 'per-call timeout of Kubernetes API calls'],
  ['--no-kubernetes', '', 'off', 'run without Kubernetes: no release is detected, so nothing is queried, guarded or reverted (to try the HTTP API, paging and settings; `replay --prometheus` tries rules against live data)'],
  ['', 'ROLLBACK_GUARD_KUBE_EVENTS', 'true', 'record each decision and outcome as a Kubernetes Event on its Deployment (best-effort; needs `create` and `patch` on events.k8s.io events)'],
  ['', 'ROLLBACK_GUARD_LEASE', 'none (single replica)', 'elect a leader through this coordination.k8s.io Lease; only the leader evaluates and acts'],
  ['', 'POD_NAME, POD_NAMESPACE', 'hostname; the first target\'s namespace', 'identity in the Lease, and the Lease\'s namespace'],
  ['', 'ROLLBACK_GUARD_ADVERTISE_URL, POD_IP', 'http://POD_IP:PORT; none without POD_IP', "this replica's API URL, written on the Lease while it leads: a follower forwards approvals, Slack's buttons and triggers there (without it, a follower answers 503 naming the leader)"],
] as const;

const LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];

function duration(name: string, text: string | undefined, fallback: number): number {
  if (text === undefined || text === '') return fallback;
  const ms = parseDuration(text);
  if (ms === undefined || ms <= 0) throw new UsageError(`${name}=${JSON.stringify(text)} is not a positive duration; write it like 30s, 2m or 1h`);
  return ms;
}

function bool(name: string, text: string | undefined, fallback = false): boolean {
  if (text === undefined || text === '') return fallback;
  if (['true', '1', 'yes'].includes(text.toLowerCase())) return true;
  if (['false', '0', 'no'].includes(text.toLowerCase())) return false;
  throw new UsageError(`${name}=${JSON.stringify(text)}: use true or false`);
}

/**
 * decisions.db, the read tools' default too. Before 2026-12 `run` defaulted to rollback-guard.db: starting on a
 * new empty log beside it would lose its open releases, pages and outbox, so that is refused, saying what to do.
 */
function defaultDb(): string {
  if (!fs.existsSync('decisions.db') && fs.existsSync('rollback-guard.db')) {
    throw new UsageError('rollback-guard.db is here, but the default decision log is now decisions.db: pass --db rollback-guard.db (or ROLLBACK_GUARD_DB) to keep using it, or rename it to decisions.db');
  }
  return 'decisions.db';
}

export function daemonConfig(flags: RunFlags, prometheus: PrometheusConnection | undefined, env: NodeJS.ProcessEnv = process.env): DaemonConfig {
  const rulesFiles = flags.rules?.length ? flags.rules : (env.ROLLBACK_GUARD_RULES ?? '').split(',').map((s) => s.trim()).filter(Boolean);
  if (rulesFiles.length === 0) throw new UsageError('no rules file: pass --rules FILE (or ROLLBACK_GUARD_RULES)');
  if (!prometheus) throw new UsageError('no Prometheus: pass --prometheus URL (or PROMETHEUS_URL)');
  const listen = flags.listen ?? env.ROLLBACK_GUARD_LISTEN ?? '0.0.0.0:8080';
  const m = /^(.*):(\d+)$/.exec(listen);
  const port = m ? Number(m[2]) : Number.NaN;
  if (!m || !(port >= 0 && port < 65536)) throw new UsageError(`--listen/ROLLBACK_GUARD_LISTEN=${JSON.stringify(listen)} is not HOST:PORT (e.g. 0.0.0.0:8080)`);
  const logLevel = flags.logLevel ?? env.LOG_LEVEL ?? 'info';
  if (!LEVELS.includes(logLevel)) throw new UsageError(`--log-level/LOG_LEVEL=${JSON.stringify(logLevel)}: use one of ${LEVELS.join(', ')}`);
  const config: DaemonConfig = {
    rulesFiles,
    // An empty value is unset: SQLite would open '' as a private temporary database and lose everything.
    db: flags.db || env.ROLLBACK_GUARD_DB || defaultDb(),
    host: m[1]!.replace(/^\[(.*)\]$/, '$1') || '0.0.0.0',
    port,
    dryRun: flags.dryRun ?? bool('ROLLBACK_GUARD_DRY_RUN', env.ROLLBACK_GUARD_DRY_RUN),
    blindAfterMs: duration('--blind-after/ROLLBACK_GUARD_BLIND_AFTER', flags.blindAfter ?? env.ROLLBACK_GUARD_BLIND_AFTER, 120_000),
    verifyTimeoutMs: duration('--verify-timeout/ROLLBACK_GUARD_VERIFY_TIMEOUT', flags.verifyTimeout ?? env.ROLLBACK_GUARD_VERIFY_TIMEOUT, 300_000),
    kubeEvents: bool('ROLLBACK_GUARD_KUBE_EVENTS', env.ROLLBACK_GUARD_KUBE_EVENTS, true),
    logLevel,
    prometheus,
  };
  const interval = flags.interval ?? env.ROLLBACK_GUARD_INTERVAL;
  if (interval) config.intervalMs = duration('--interval/ROLLBACK_GUARD_INTERVAL', interval, 15_000);
  if (env.ROLLBACK_GUARD_API_TOKEN_FILE) {
    if (!fs.existsSync(env.ROLLBACK_GUARD_API_TOKEN_FILE)) throw new UsageError(`ROLLBACK_GUARD_API_TOKEN_FILE=${env.ROLLBACK_GUARD_API_TOKEN_FILE}: no such file`);
    config.apiTokenFile = env.ROLLBACK_GUARD_API_TOKEN_FILE;
  } else if (env.ROLLBACK_GUARD_API_TOKEN) config.apiToken = env.ROLLBACK_GUARD_API_TOKEN;
  return config;
}

/** The API token, re-read from its file each time (rotation without restart). */
export function apiToken(c: DaemonConfig): string | undefined {
  if (c.apiTokenFile) return fs.readFileSync(c.apiTokenFile, 'utf8').trim() || undefined;
  return c.apiToken;
}
