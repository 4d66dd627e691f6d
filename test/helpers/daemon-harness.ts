// The daemon over simulated time, for unit tests: the bundled bad release's recording as the metric source, test
// doubles for the cluster-facing ports (releases, actuator, leader), the real SQLite decision log and the real
// engine. Time is a field the test moves; every tick is driven explicitly.
import fs from 'node:fs';
import path from 'node:path';
import { pino } from 'pino';
import { RecordingSource } from '../../src/adapters/recording/recording-source.js';
import { SqliteActionJournal } from '../../src/adapters/sqlite/sqlite-action-journal.js';
import { openDecisionLog, type SqliteDecisionStore } from '../../src/adapters/sqlite/sqlite-decision-store.js';
import { parseRules } from '../../src/core/parse-rules.js';
import { Daemon, type DaemonDeps } from '../../src/daemon/daemon.js';
import type { GuardEvent } from '../../src/daemon/guard-events.js';
import { DaemonMetrics } from '../../src/daemon/metrics.js';
import type { Actuator, RollbackOutcome, RollbackRequest, VerifyOutcome } from '../../src/ports/actuator.js';
import type { DecisionStore } from '../../src/ports/decision-store.js';
import type { MetricSource } from '../../src/ports/metric-source.js';
import type { ObservedRelease, ReleaseSource } from '../../src/ports/release-source.js';
import type { Ruleset } from '../../src/core/ruleset.js';
import { useTempDir } from './temp-dir.js';

const tmp = useTempDir();
export const RULES = parseRules(fs.readFileSync('rules/voice-server.yaml', 'utf8'), 'rules/voice-server.yaml');
export const RECORDING = RecordingSource.fromFile('examples/bad-release/recording.json');
export const T0 = Date.parse('2026-11-20T14:00:00Z');
export const STEP = 15_000;

export class ManualReleases implements ReleaseSource {
  emit: (r: ObservedRelease) => void | Promise<void> = () => {};
  start(on: (r: ObservedRelease) => void | Promise<void>) {
    this.emit = on;
    return Promise.resolve();
  }
  stop() {
    return Promise.resolve();
  }
}

/** Reverts 7 -> 6 (or would, dry run) unless `impl` says otherwise; verification completes unless `verify` does. */
export class RecordingActuator implements Actuator {
  calls: RollbackRequest[] = [];
  impl?: (req: RollbackRequest) => Promise<RollbackOutcome>;
  verify?: () => Promise<VerifyOutcome>;
  rollback(req: RollbackRequest): Promise<RollbackOutcome> {
    this.calls.push(req);
    if (this.impl) return this.impl(req);
    return Promise.resolve(req.dryRun ? { kind: 'would-roll-back' as const, fromRevision: '7', toRevision: '6', images: ['voice-server:1.4.1'] } : { kind: 'rolled-back' as const, fromRevision: '7', toRevision: '6', images: ['voice-server:1.4.1'] });
  }
  verifyRollout(): Promise<VerifyOutcome> {
    return this.verify ? this.verify() : Promise.resolve({ kind: 'complete' as const, detail: '3/3 updated and available' });
  }
}

export interface SetupOptions {
  store?: DecisionStore;
  source?: MetricSource;
  /** Whether this replica leads; a function for one that changes during the test. Default true. */
  leader?: boolean | (() => boolean);
  dryRun?: boolean;
  journal?: SqliteDecisionStore;
  /** Default: rules/voice-server.yaml. */
  rulesets?: Ruleset[];
}

export type Harness = ReturnType<typeof setup>;

export function setup(o: SetupOptions = {}) {
  const clock = { t: T0, now() { return this.t; } };
  const events: GuardEvent[] = [];
  const releases = new ManualReleases();
  const actuator = new RecordingActuator();
  const metrics = new DaemonMetrics();
  const leading = typeof o.leader === 'function' ? o.leader : () => (o.leader as boolean | undefined) ?? true;
  const deps: DaemonDeps = {
    rulesets: o.rulesets ?? [RULES],
    ...(o.journal ? { journal: new SqliteActionJournal(o.journal.db) } : {}),
    source: o.source ?? RECORDING,
    store: o.store ?? openDecisionLog(path.join(tmp(), 'd.db')),
    actuator,
    releases,
    leader: { start: async () => {}, stop: async () => {}, isLeader: leading, leader: () => 'guard-0' },
    events: { emit: (e) => void events.push(e) },
    clock,
    log: pino({ level: 'silent' }),
    metrics,
    options: { dryRun: o.dryRun ?? false, blindAfterMs: 120_000, verifyTimeoutMs: 1_000 },
  };
  return { daemon: new Daemon(deps), deps, clock, events, releases, actuator, metrics };
}

/** A path for a decision log in this test's temporary directory. */
export function logFile(name = 'd.db'): string {
  return path.join(tmp(), name);
}

/** The bundled bad release: revision 7 of voice-production/voice-server, voice-server:1.5.0. */
export const release = (startedAt = T0, adopted = false, revision = '7'): ObservedRelease => ({ namespace: 'voice-production', deployment: 'voice-server', revision, images: ['voice-server:1.5.0'], severity: 'minor', startedAt, kind: 'release', adopted });

/** A second daemon on the first one's decision log (closed by the caller), at the first one's time, started. */
export async function restart(file: string, a: Harness, o: Omit<SetupOptions, 'store' | 'journal'> = {}) {
  const again = openDecisionLog(file);
  const b = setup({ ...o, store: again, journal: again });
  b.clock.t = a.clock.t;
  await b.daemon.start();
  return { b, again };
}

export async function runUntil(s: Harness, until: number) {
  for (; s.clock.t <= until; s.clock.t += STEP) await s.daemon.tick(s.clock.t);
}

/** The decisions announced so far, as "14:33:45 rollback error-rate-critical". */
export const decisions = (s: Harness) => s.events.filter((e): e is Extract<GuardEvent, { kind: 'decision' }> => e.kind === 'decision').map((e) => `${new Date(e.decision.at).toISOString().slice(11, 19)} ${e.decision.action} ${e.decision.rule ?? '-'}`);
