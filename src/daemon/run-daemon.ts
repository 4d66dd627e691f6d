// Composition of the live daemon: decision log, Prometheus source, release source, actuator, leader election,
// events, HTTP server, schedule, hot reload and signals. Everything here is wiring; behaviour lives in Daemon.
import fs from 'node:fs';
import { pino, type Logger } from 'pino';
import { PrometheusClient } from '../adapters/prometheus/prometheus-client.js';
import { PrometheusSource } from '../adapters/prometheus/prometheus-source.js';
import { openDecisionLog } from '../adapters/sqlite/sqlite-decision-store.js';
import type { Ruleset } from '../core/ruleset.js';
import { loadRulesFile } from '../cli/load-rules-file.js';
import { RulesInvalidError } from '../errors/rules-invalid-error.js';
import type { Actuator } from '../ports/actuator.js';
import { systemClock, type Clock } from '../ports/clock.js';
import type { LeaderElector } from '../ports/leader.js';
import type { ReleaseSource } from '../ports/release-source.js';
import { Daemon } from './daemon.js';
import { apiToken, type DaemonConfig } from './daemon-config.js';
import { logOnlySink, type GuardEventSink } from './guard-events.js';
import { startHttpServer, type RouteHandler } from './http-server.js';
import { DaemonMetrics } from './metrics.js';
import { noActuator, noReleases, soleLeader } from './null-ports.js';
import { cronExpression, schedule } from './schedule.js';

export interface RunOptions {
  version: string;
  releases?: ReleaseSource;
  actuator?: Actuator;
  leader?: LeaderElector;
  events?: GuardEventSink;
  routes?: RouteHandler[];
  clock?: Clock;
  log?: Logger;
}

export interface RunningDaemon {
  daemon: Daemon;
  url: string;
  /** Resolves when the daemon has shut down (SIGTERM/SIGINT or shutdown()). */
  done: Promise<void>;
  shutdown(reason: string): Promise<void>;
}

/** Secrets never reach the logs, whatever object carries them. */
export const REDACT = ['*.token', '*.password', '*.bearerToken', '*.routingKey', '*.authorization', '*.headers.authorization', 'prometheus.basicAuth', 'prometheus.bearerToken'];

export function loadRulesets(files: readonly string[]): Ruleset[] {
  const rulesets = files.map(loadRulesFile);
  const seen = new Map<string, string>();
  for (const rs of rulesets) {
    const t = `${rs.target.namespace}/${rs.target.deployment}`;
    const other = seen.get(t);
    if (other) throw new RulesInvalidError(rs.file, [{ file: rs.file, line: 1, column: 1, message: `target ${t} is already guarded by ${other}; one rules file per Deployment` }]);
    seen.set(t, rs.file);
  }
  return rulesets;
}

export async function runDaemon(config: DaemonConfig, o: RunOptions): Promise<RunningDaemon> {
  const log = o.log ?? pino({ level: config.logLevel, redact: { paths: REDACT, censor: '[redacted]' }, base: { service: 'rollback-guard' } });
  const clock = o.clock ?? systemClock;
  const rulesets = loadRulesets(config.rulesFiles);
  const intervalMs = config.intervalMs ?? rulesets[0]!.intervalMs;
  cronExpression(intervalMs); // a bad interval fails here, before anything is opened or listening
  const store = openDecisionLog(config.db, { now: () => clock.now() });
  const metrics = new DaemonMetrics();
  const leader = o.leader ?? soleLeader;
  const daemon = new Daemon({
    rulesets,
    source: new PrometheusSource(new PrometheusClient(config.prometheus)),
    store,
    actuator: o.actuator ?? noActuator,
    releases: o.releases ?? noReleases,
    leader,
    events: o.events ?? logOnlySink,
    clock,
    log,
    metrics,
    options: { dryRun: config.dryRun, blindAfterMs: config.blindAfterMs, verifyTimeoutMs: config.verifyTimeoutMs },
  });
  let started = false;
  let http: Awaited<ReturnType<typeof startHttpServer>> | undefined;
  try {
    http = await startHttpServer(daemon, metrics, {
      host: config.host,
      port: config.port,
      version: o.version,
      apiToken: () => apiToken(config),
      ready: () => started,
      ...(o.routes ? { routes: o.routes } : {}),
    });
    await leader.start();
    await daemon.start();
  } catch (err) {
    // Nothing half-started stays behind: the process can exit with the error.
    await http?.close();
    await leader.stop().catch(() => {});
    store.close();
    throw err;
  }
  const server = http;
  const task = schedule(intervalMs, async () => {
    try {
      await daemon.tick(clock.now());
    } catch (err) {
      log.error({ err }, 'tick failed');
    }
  });
  started = true;
  log.info({ url: server.url, rules: config.rulesFiles, interval: intervalMs / 1000, dryRun: config.dryRun, db: config.db }, 'rollback-guard running');

  // Hot reload: a valid file takes effect at the next tick; an invalid one is rejected, the running rules stay.
  const reload = (why: string) => {
    try {
      const next = loadRulesets(config.rulesFiles);
      daemon.setRulesets(next);
      log.info({ why, hashes: next.map((r) => r.hash.slice(0, 12)) }, 'rules reloaded');
    } catch (err) {
      log.error({ why, problems: err instanceof RulesInvalidError ? err.problems : undefined, error: (err as Error).message }, 'rules reload rejected; the running rules stay in force');
    }
  };
  let debounce: NodeJS.Timeout | undefined;
  const watchers = config.rulesFiles.map((f) =>
    fs.watch(f, () => {
      clearTimeout(debounce);
      debounce = setTimeout(() => reload(`${f} changed`), 200);
    }),
  );
  const onHup = () => reload('SIGHUP');
  process.on('SIGHUP', onHup);

  let resolveDone!: () => void;
  const done = new Promise<void>((r) => (resolveDone = r));
  let stopping = false;
  const shutdown = async (reason: string) => {
    if (stopping) return done;
    stopping = true;
    log.info({ reason }, 'shutting down: finishing the current tick');
    started = false;
    await task.stop();
    await task.destroy();
    clearTimeout(debounce);
    for (const w of watchers) w.close();
    process.off('SIGHUP', onHup);
    await daemon.stop();
    await leader.stop();
    await server.close();
    store.close();
    log.info('stopped');
    resolveDone();
    return done;
  };
  const onSignal = (sig: NodeJS.Signals) => void shutdown(sig);
  process.once('SIGTERM', onSignal);
  process.once('SIGINT', onSignal);
  return { daemon, url: server.url, done, shutdown };
}
