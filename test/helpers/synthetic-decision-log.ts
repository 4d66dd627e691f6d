// Writes decision logs with several releases through the real engine and the real SQLite store
// (openDecisionLog + recordInstant), from value functions instead of Prometheus: pages, escalations,
// resolves, rollbacks and promotes exactly as the daemon would log them.
import Database from 'better-sqlite3';
import { initialState, step, type Observation } from '../../src/core/engine.js';
import { parseRules } from '../../src/core/parse-rules.js';
import type { Ruleset } from '../../src/core/ruleset.js';
import { openDecisionLog } from '../../src/adapters/sqlite/sqlite-decision-store.js';
import type { StoredDecision } from '../../src/ports/decision-store.js';

export const MINUTE = 60_000;
const DAY = 86_400_000;

/** Two rules: an immediate error-rate rule and a considered latency rule against a baseline. */
export function syntheticRules(errorThreshold = 0.05): Ruleset {
  return parseRules(
    `version: 1
target: { namespace: voice, deployment: app }
baselines:
  latency: { query: 'base_latency' }
rules:
  - { name: error-rate, description: Error rate above ${errorThreshold}, tier: immediate, query: 'errors', above: ${errorThreshold}, for: 1m }
  - { name: latency, tier: considered, query: 'latency', above: { baseline: latency, factor: 1.5 }, for: 2m }
`,
    `rules-${errorThreshold}.yaml`,
  );
}

export interface SyntheticRelease {
  startedAt: number;
  target?: { namespace: string; deployment: string };
  ruleset?: Ruleset;
  windowMs?: number;
  /** Evaluate until this long after the start (the release may end earlier by rollback). */
  untilMs: number;
  stepMs?: number;
  /** Value of a rule's query at this offset from the start; null is an empty result. */
  value: (rule: string, offsetMs: number) => number | null;
}

export interface SyntheticLog {
  releaseIds: number[];
  decisions: StoredDecision[];
  evaluations: number;
}

export function writeSyntheticLog(file: string, releases: readonly SyntheticRelease[], options: { batchInstants?: number } = {}): SyntheticLog {
  const store = openDecisionLog(file, { now: () => 0, batchInstants: options.batchInstants ?? 1 });
  const out: SyntheticLog = { releaseIds: [], decisions: [], evaluations: 0 };
  try {
    for (const r of releases) {
      const ruleset = r.ruleset ?? syntheticRules();
      const target = r.target ?? ruleset.target!;
      const release = { startedAt: r.startedAt, severity: 'minor' as const, windowMs: r.windowMs ?? ruleset.windowsMs.minor };
      const baselines = { latency: { kind: 'value' as const, value: 0.4, labels: {} } };
      const stored = store.startRelease({ ...release, ...target, source: 'test:synthetic' }, ruleset, { latency: { query: 'base_latency', reading: baselines.latency } });
      out.releaseIds.push(stored.id);
      const ctx = { ruleset, release, baselines };
      let state = initialState(ruleset);
      for (let t = 0; t <= r.untilMs && !state.outcome; t += r.stepMs ?? 15_000) {
        const obs = new Map<string, Observation>();
        for (const rule of ruleset.rules) {
          const v = r.value(rule.name, t);
          obs.set(rule.name, { value: v === null ? { kind: 'empty' } : { kind: 'series', series: [{ labels: { pod: 'app-1' }, value: v }] } });
        }
        const res = step(ctx, state, r.startedAt + t, obs);
        state = res.state;
        out.evaluations += res.evaluations.length;
        out.decisions.push(...store.recordInstant(stored.id, r.startedAt + t, state, res.evaluations, res.decisions));
      }
    }
  } finally {
    store.close();
  }
  return out;
}

/**
 * The incident scenario, relative to `now`: release 1 (40 days ago) pages on latency, escalates, resolves and is
 * promoted; release 2 (20 days ago) is rolled back on error rate; release 3 (2 days ago, other/app2, other rules
 * version) is healthy. With `optionalTables`, the rollbacks/notifications/approvals tables other features add.
 * Three releases: a page that escalates and resolves, a rollback, a healthy one of another target and rules version. */
export function writeIncidentLog(file: string, now: number, options: { optionalTables?: boolean } = {}): SyntheticLog {
  const T1 = now - 40 * DAY;
  const T2 = now - 20 * DAY;
  const T3 = now - 2 * DAY;
  const log = writeSyntheticLog(file, [
    { startedAt: T1, untilMs: 65 * MINUTE, value: (r, t) => (r === 'latency' ? (t >= 5 * MINUTE && t < 30 * MINUTE ? 0.9 : 0.4) : 0.01) },
    { startedAt: T2, untilMs: 65 * MINUTE, value: (r, t) => (r === 'error-rate' ? (t >= 3 * MINUTE ? 0.1 : 0.01) : 0.4) },
    { startedAt: T3, untilMs: 65 * MINUTE, target: { namespace: 'other', deployment: 'app2' }, ruleset: syntheticRules(0.02), value: (r) => (r === 'latency' ? 0.4 : 0.01) },
  ]);
  if (options.optionalTables) addOptionalTables(file, log);
  return log;
}

/** Rows in the tables the Kubernetes and paging features add (rollbacks, outbox, approvals), as they write them. */
function addOptionalTables(file: string, log: SyntheticLog): void {
  const db = new Database(file);
  const rollback = log.decisions.find((d) => d.action === 'rollback')!;
  const page = log.decisions.find((d) => d.action === 'page')!;
  const iso = (ms: number) => new Date(ms).toISOString();
  db.prepare(`INSERT INTO rollbacks (decision_id, release_id, namespace, deployment, requested_at, finished_at, by, reason, strategy, dry_run, outcome, from_revision, to_revision, verification, verified_at)
    VALUES (?, ?, 'voice', 'app', ?, ?, 'rollback-guard', 'error-rate', 'undo', 0, 'rolled-back', '7', '6', 'rollback-complete', ?)`)
    .run(rollback.id, rollback.releaseId, iso(rollback.at), iso(rollback.at + 20_000), iso(rollback.at + 2 * MINUTE));
  const outbox = db.prepare(`INSERT INTO outbox (key, created_at, release_id, decision_id, channel, action, target, dedup_key, payload, status, attempts, next_attempt_at, delivered_at)
    VALUES (?, ?, ?, ?, ?, ?, ?, ?, '{}', 'delivered', 1, ?, ?)`);
  outbox.run(`release-${page.releaseId}:page:slack`, iso(page.at), page.releaseId, page.id, 'slack', 'post', '#voice-incidents', `release-${page.releaseId}:latency`, iso(page.at), iso(page.at + 1000));
  outbox.run(`release-${page.releaseId}:page:pagerduty`, iso(page.at), page.releaseId, page.id, 'pagerduty', 'trigger', 'ONCALL', `release-${page.releaseId}:latency`, iso(page.at), iso(page.at + 2000));
  db.prepare(`INSERT INTO approvals (decision_id, verdict, by, reason, via, at) VALUES (?, 'declined', 'alice@example.com', 'latency is a known CDN issue', 'api', ?)`).run(page.id, iso(page.at + 3 * MINUTE));
  db.close();
}

