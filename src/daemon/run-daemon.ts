// Composition of the live daemon: decision log, Prometheus source, release source, actuator, leader election,
// events, HTTP server, schedule, hot reload and signals. Everything here is wiring; behaviour lives in Daemon.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pino, type Logger } from 'pino';
import { armedFailpoints } from '../adapters/failpoint/failpoint.js';
import { PrometheusClient } from '../adapters/prometheus/prometheus-client.js';
import { PrometheusSource } from '../adapters/prometheus/prometheus-source.js';
import type { KubeConnectionOptions } from '../adapters/kubernetes/kube-client.js';
import { SqliteActionJournal } from '../adapters/sqlite/sqlite-action-journal.js';
import { findRelease } from '../adapters/sqlite/rollback-log.js';
import { openDecisionLog } from '../adapters/sqlite/sqlite-decision-store.js';
import { labelSelectorOf, type NotificationSettings, type Ruleset } from '../core/ruleset.js';
import { loadRulesFile } from '../cli/load-rules-file.js';
import { UsageError } from '../errors/usage-error.js';
import { RulesInvalidError } from '../errors/rules-invalid-error.js';
import type { Actuator } from '../ports/actuator.js';
import { systemClock, type Clock } from '../ports/clock.js';
import type { LeaderElector } from '../ports/leader.js';
import type { ReleaseSource } from '../ports/release-source.js';
import { Daemon } from './daemon.js';
import { apiToken, type DaemonConfig } from './daemon-config.js';
import { teeSink, type GuardEventSink } from './guard-events.js';
import { KubeEventSink } from './kube-event-sink.js';
import { DecisionLogHealth } from './decision-log-health.js';
import { isDecisionLogWriteError } from '../errors/decision-log-error.js';
import type { NotifiedRelease } from '../core/notification-plan.js';
import { createPaging } from '../guard/paging.js';
import { describeRelease, PagingSink } from './paging-sink.js';
import type { Agent } from 'node:https';
import { startHttpServer, type RouteHandler } from './http-server.js';
import { DaemonMetrics } from './metrics.js';
import { noActuator, noReleases, soleLeader } from './null-ports.js';
import { cronExpression, instantsDue, schedule } from './schedule.js';
import { intervalProblem } from '../core/interval-grid.js';
import { toRfc3339 } from '../core/time-format.js';

export interface RunOptions {
  version: string;
  /** Kubernetes access; when given, releases are watched, rollbacks applied and (optionally) a Lease elected. */
  kube?: { connection: KubeConnectionOptions; /** `reportingInstance` of its Events: this pod's name. */ instance?: string; lease?: { name: string; namespace?: string; identity: string; /** This replica's API URL, written on the Lease while it leads. */ address?: string } };
  releases?: ReleaseSource;
  actuator?: Actuator;
  leader?: LeaderElector;
  events?: GuardEventSink;
  /** TLS agent for PagerDuty (a private CA; tests). */
  pagerdutyAgent?: Agent;
  routes?: RouteHandler[];
  clock?: Clock;
  log?: Logger;
  /** Where the pagers' and the API's secrets are read from; default process.env. */
  env?: NodeJS.ProcessEnv;
}

export interface RunningDaemon {
  daemon: Daemon;
  url: string;
  /** Resolves when the daemon has shut down (SIGTERM/SIGINT or shutdown()). */
  done: Promise<void>;
  shutdown(reason: string): Promise<void>;
}

/** The newest open release for a message, or `fallback` when there is none or the log cannot even be read. */
function latestReleaseOr(sink: PagingSink, fallback: NotifiedRelease): NotifiedRelease {
  try {
    return sink.latestRelease() ?? fallback;
  } catch {
    return fallback;
  }
}

/** What a page about the guard itself names when no release is open: the first guarded Deployment, or a fleet's file. */
function guardItself(rulesets: readonly Ruleset[], at: number): NotifiedRelease {
  const t = rulesets[0]?.targets[0];
  return { id: 0, namespace: t?.namespace ?? rulesets[0]?.select?.namespace ?? '-', deployment: t?.deployment ?? 'rollback-guard', startedAt: at, severity: 'n/a', windowMs: 0 };
}

/** `reportingController` of the guard's Kubernetes Events (kubectl shows it under From). */
export const KUBE_EVENTS_CONTROLLER = 'rollback-guard.io/rollback-guard';

/** Secrets never reach the logs, whatever object carries them. */
export const REDACT = ['*.token', '*.password', '*.bearerToken', '*.routingKey', '*.authorization', '*.headers.authorization', 'prometheus.basicAuth', 'prometheus.bearerToken'];

export function loadRulesets(files: readonly string[]): Ruleset[] {
  const rulesets = files.map(loadRulesFile);
  const seen = new Map<string, string>();
  for (const rs of rulesets) {
    for (const target of rs.targets) {
      const t = `${target.namespace}/${target.deployment}`;
      const other = seen.get(t);
      if (other) throw new RulesInvalidError(rs.file, [{ file: rs.file, line: 1, column: 1, message: `target ${t} is already guarded by ${other}; one rules file per Deployment` }]);
      seen.set(t, rs.file);
    }
  }
  // One PagerDuty, one Slack and one SMTP client serve every file: a second file naming other endpoints would be
  // silently ignored, so it is an error. (Channels, levels, templates, approvers and email recipients are each
  // file's own; a file without email need not repeat the SMTP server.)
  for (const { what, key, value } of TRANSPORTS) {
    let first: Ruleset | undefined;
    for (const rs of rulesets) {
      const v = value(rs.notifications);
      if (v === undefined) continue;
      if (!first) first = rs;
      else if (v !== value(first.notifications)) {
        const line = lineOf(rs.source, key);
        throw new RulesInvalidError(rs.file, [{ file: rs.file, line, column: 1, message: `${what} is ${v} here but ${value(first.notifications)} in ${first.file}: every rules file a daemon loads must use the same one` }]);
      }
    }
  }
  return rulesets;
}

/** The notification endpoints a daemon reads once, at start; undefined: this file does not use one. */
const TRANSPORTS: { what: string; key: string; value: (n: NotificationSettings) => string | undefined }[] = [
  { what: 'notifications.pagerduty.server', key: 'server', value: (n) => n.pagerdutyServer },
  { what: 'notifications.slack.apiUrl', key: 'apiUrl', value: (n) => n.slackApiUrl },
  { what: 'notifications.email.smtp', key: 'smtp', value: (n) => (n.email ? `${n.email.smtp.host}:${n.email.smtp.port} (tls ${n.email.smtp.tls})` : undefined) },
];

/** An endpoint as the daemon uses it: the first file's that sets it. */
const transportOf = (rulesets: readonly Ruleset[], t: (typeof TRANSPORTS)[number]) => rulesets.map((rs) => t.value(rs.notifications)).find((v) => v !== undefined);

/** The SMTP server of the first rules file that emails (they all agree). */
const smtpOf = (rulesets: readonly Ruleset[]) => rulesets.find((rs) => rs.notifications.email)?.notifications.email?.smtp;

/** The first line that sets `key:` (1 when none does: the setting came from its default). */
function lineOf(source: string, key: string): number {
  const i = source.split('\n').findIndex((l) => new RegExp(`^\\s*${key}\\s*:`).test(l) || new RegExp(`[{,]\\s*${key}\\s*:`).test(l));
  return i + 1 || 1;
}

/** Where the Lease goes without POD_NAMESPACE: the first listed Deployment's namespace, or a fleet's. */
function leaseNamespace(rulesets: readonly Ruleset[]): string {
  const rs = rulesets.find((r) => r.target ?? r.select?.namespace);
  const ns = rs?.target?.namespace ?? rs?.select?.namespace;
  if (ns === undefined) throw new UsageError('the rules select Deployments in every namespace, so the Lease has no namespace to default to: set POD_NAMESPACE (the chart does)');
  return ns;
}

export async function runDaemon(config: DaemonConfig, o: RunOptions): Promise<RunningDaemon> {
  const log = o.log ?? pino({ level: config.logLevel, redact: { paths: REDACT, censor: '[redacted]' }, base: { service: 'rollback-guard' } });
  const clock = o.clock ?? systemClock;
  armedFailpoints(); // a misspelt ROLLBACK_GUARD_FAILPOINT is refused before anything starts
  const rulesets = loadRulesets(config.rulesFiles);
  const intervalMs = config.intervalMs ?? rulesets[0]!.intervalMs;
  // A bad interval fails here, before anything is opened or listening; one from a file names its line.
  const off = config.intervalMs === undefined ? intervalProblem(rulesets[0]!) : undefined;
  if (off) throw new RulesInvalidError(off.file, [off]);
  cronExpression(intervalMs);
  const store = openDecisionLog(config.db, { now: () => clock.now() });
  const metrics = new DaemonMetrics();
  const journal = new SqliteActionJournal(store.db);
  let leader = o.leader ?? soleLeader;
  let releases = o.releases ?? noReleases;
  let actuator = o.actuator ?? noActuator;
  /** The daemon, once made: where the actuator finds a Deployment's rollback settings (a fleet's are its file's). */
  let guarded: Daemon | undefined;
  /** Kubernetes Events on the Deployments judged (ROLLBACK_GUARD_KUBE_EVENTS, on by default with Kubernetes). */
  let kubeEvents: KubeEventSink | undefined;
  let kubeEventsIdle: () => Promise<void> = () => Promise.resolve();
  if (o.kube) {
    // Loaded only here: @kubernetes/client-node is slow to import and only the daemon and `rollback` need it.
    const [{ kubeClients }, { DeploymentWatcher }, { KubeActuator }, { LeaseElector }, { KubeEventRecorder }] = await Promise.all([
      import('../adapters/kubernetes/kube-client.js'),
      import('../adapters/kubernetes/deployment-watcher.js'),
      import('../adapters/kubernetes/kube-actuator.js'),
      import('../adapters/kubernetes/lease-elector.js'),
      import('../adapters/kubernetes/event-recorder.js'),
    ]);
    const k = await kubeClients(o.kube.connection);
    if (config.kubeEvents) {
      const recorder = new KubeEventRecorder(k, {
        controller: KUBE_EVENTS_CONTROLLER,
        instance: o.kube.instance ?? o.kube.lease?.identity ?? os.hostname(),
        now: () => clock.now(),
        onOutcome: (outcome) => metrics.kubeEvents.inc({ outcome }),
        onError: (err, e) => log.warn({ error: err.message, reason: e.reason, target: `${e.namespace}/${e.deployment}` }, 'could not record a Kubernetes Event (best-effort: nothing else is affected)'),
      });
      kubeEvents = new KubeEventSink(recorder, () => guarded?.status().activeReleases.map((r) => r.target) ?? [], () => leader.isLeader());
      kubeEventsIdle = () => recorder.idle();
    }
    const lease = o.kube.lease;
    if (lease) {
      leader = new LeaseElector(k, {
        namespace: lease.namespace ?? leaseNamespace(rulesets), // default: beside the first guarded Deployment
        name: lease.name,
        identity: lease.identity,
        ...(lease.address ? { address: lease.address } : {}),
        onChange: (leading, holder) => log.warn({ leading, holder }, leading ? 'this replica is now the leader' : 'this replica is not the leader'),
        onError: (err) => log.warn({ error: err.message }, 'leader election'),
      });
    }
    const targets = rulesets.flatMap((r) => r.targets);
    releases = new DeploymentWatcher(k, {
      targets,
      // Fleets: one list and watch per file's `select:` (changes to it take effect at restart).
      selections: rulesets.flatMap((r) => (r.select ? [{ id: r.file, ...(r.select.namespace !== undefined ? { namespace: r.select.namespace } : {}), labelSelector: labelSelectorOf(r.select) }] : [])),
      knownRelease: (ref, revision) => findRelease(store.db, ref, revision),
      onError: (err) => log.warn({ error: err.message }, 'watching Deployments'),
    });
    const elected = leader;
    actuator = new KubeActuator(k, {
      strategyFor: (ref) => {
        const t = guarded?.targetFor(ref);
        return t?.rollback.strategy === 'previous-version-annotation' ? { kind: 'previous-version-annotation', ...(t.rollback.container ? { container: t.rollback.container } : {}) } : { kind: 'undo' };
      },
      automaticRollbacks: (releaseId) => journal.automaticRollbacks(releaseId),
      mayAct: () => elected.isLeader(),
    });
  }
  const sink = new PagingSink(store.db, log, config.dryRun);
  // A decision log that cannot be written: not ready, and a page sent directly (the outbox is in the same file).
  // The page and its resolve name the same release, so PagerDuty closes the incident it opened.
  let troubleAbout: NotifiedRelease | undefined;
  const logHealth = new DecisionLogHealth({
    now: () => clock.now(),
    log,
    onChange: (state, detail, since) => {
      metrics.decisionLogWritable.set(state === 'writable' ? 1 : 0);
      if (state === 'writable') daemon.requestReconcile();
      const release = (state === 'writable' ? troubleAbout : undefined) ?? latestReleaseOr(sink, guardItself(rulesets, since));
      troubleAbout = state === 'unwritable' ? release : undefined;
      void paging
        .sendNow(release, { kind: 'decision-log', at: clock.now(), state, detail, since })
        .then((sent) => log.warn({ state, sent }, 'decision log trouble paged directly (not through the outbox)'))
        .catch((err: unknown) => log.error({ error: (err as Error).message }, 'could not page about the decision log'));
    },
  });
  const daemon: Daemon = (guarded = new Daemon({
    rulesets,
    journal,
    // A query may retry only within its tick: by default the retry budget is one interval (set
    // PROMETHEUS_RETRY_BUDGET to change it), so a down Prometheus makes ticks fail fast, not overrun.
    source: new PrometheusSource(new PrometheusClient({ retryBudgetMs: intervalMs, ...config.prometheus })),
    store,
    actuator,
    releases,
    leader,
    events: o.events ?? (kubeEvents ? teeSink(sink, kubeEvents) : sink),
    onDecisionLogError: (err) => logHealth.failed(err),
    clock,
    log,
    metrics,
    options: { dryRun: config.dryRun, blindAfterMs: config.blindAfterMs, verifyTimeoutMs: config.verifyTimeoutMs },
  }));
  // Set when shutting down: approvals and triggers are then refused (503, like a replica that does not lead), so
  // none starts a rollback after the wait for those under way, with the decision log about to close.
  let stopping = false;
  // Paging: notifications through the outbox, approvals over HTTP and Slack. Each release is notified with its own
  // rules file's `notifications:`, read from the rules in force (a hot reload applies to the next message).
  let current = rulesets;
  /** The last reload's rejection, until a reload succeeds: /health is degraded meanwhile. */
  let reloadRejected: { at: string; error: string } | undefined;
  const paging = createPaging({
    db: store.db,
    settingsFor: (t) => ((t ? daemon.rulesetFor(t) : undefined) ?? current[0]!).notifications,
    now: () => clock.now(),
    act: (d) => daemon.actOnApproval(d.id),
    isLeader: () => !stopping && leader.isLeader(),
    leader: () => leader.leader(),
    // Stopping: nowhere to forward (its own address would come back to it).
    leaderUrl: () => (stopping ? undefined : leader.leaderUrl?.()),
    describeRelease: (id) => describeRelease(store.db, id),
    ...(kubeEvents ? { onVerdict: (v: { target: string; decisionId: number; verdict: 'approved' | 'declined'; by: string; reason?: string }) => kubeEvents?.verdict(v.target, v) } : {}),
    ...(smtpOf(rulesets) ? { smtp: smtpOf(rulesets) } : {}),
    ...(o.pagerdutyAgent ? { pagerdutyAgent: o.pagerdutyAgent } : {}),
    ...(o.env ? { env: o.env } : {}),
  });
  sink.paging = paging;
  sink.onWriteError = (err) => logHealth.failed(err);
  metrics.decisionLogWritable.set(1);
  let started = false;
  let http: Awaited<ReturnType<typeof startHttpServer>> | undefined;
  try {
    http = await startHttpServer(daemon, metrics, {
      host: config.host,
      port: config.port,
      version: o.version,
      apiToken: () => apiToken(config),
      leaderUrl: () => (stopping ? undefined : leader.leaderUrl?.()),
      ready: () => started && !logHealth.unwritable,
      health: () => {
        const h = paging.health();
        metrics.outboxDepth.set(h.depth);
        // Degraded: a notification reached nobody, or the rules on disk are not the ones in force.
        const unwritable = logHealth.unwritable;
        const degraded = h.unreported > 0 || reloadRejected !== undefined || unwritable !== undefined;
        return {
          outbox: h,
          rulesReload: reloadRejected ? { status: 'rejected', ...reloadRejected } : { status: 'ok' },
          decisionLog: unwritable ? { status: 'unwritable', since: toRfc3339(unwritable.since), error: unwritable.error } : { status: 'ok' },
          ...(degraded ? { status: 'degraded' } : {}),
        };
      },
      routes: [...paging.handlers, ...(o.routes ?? [])],
      beforeMetrics: () => {
        metrics.outboxDepth.set(paging.health().depth);
        metrics.notifications.reset();
        const rows = store.db.prepare(`SELECT channel, status, count(*) AS n FROM outbox GROUP BY channel, status`).all() as { channel: string; status: string; n: number }[];
        for (const r of rows) metrics.notifications.set({ channel: r.channel, status: r.status }, r.n);
      },
    });
    paging.worker.start();
    await leader.start();
    await daemon.start();
  } catch (err) {
    // Nothing half-started stays behind: the process can exit with the error.
    await releases.stop().catch(() => {});
    await paging.worker.stop().catch(() => {});
    await http?.close();
    await leader.stop().catch(() => {});
    metrics.close();
    store.close();
    throw err;
  }
  const server = http;
  // Every instant is judged, as replay judges it: a firing that comes late, or whose instant was skipped because the
  // previous tick was still running (an overrun: tick() answers false), is caught up by the next firing, oldest
  // first, at most MAX_CATCH_UP instants back.
  let lastTicked: number | undefined;
  const task = schedule(intervalMs, async () => {
    try {
      const { instants, dropped } = instantsDue(lastTicked, clock.now(), intervalMs);
      if (dropped) log.warn({ dropped, interval: intervalMs / 1000 }, `the schedule fell behind: ${dropped} instant${dropped === 1 ? '' : 's'} not evaluated`);
      for (const at of instants) {
        if (!(await daemon.tick(at))) break;
        lastTicked = Math.max(lastTicked ?? at, at);
      }
      // Unwritable until a write succeeds again: one page, committed (a follower, or a tick with nothing to record,
      // tells nothing by succeeding).
      if (logHealth.unwritable && probe()) logHealth.wrote();
    } catch (err) {
      log.error({ err }, 'tick failed');
      if (isDecisionLogWriteError(err)) logHealth.failed(err);
    }
  });
  const probe = () => {
    try {
      store.probeWrite();
      return true;
    } catch {
      return false;
    }
  };
  started = true;
  log.info({ url: server.url, rules: config.rulesFiles, interval: intervalMs / 1000, dryRun: config.dryRun, db: config.db }, 'rollback-guard running');

  // Hot reload: a valid file takes effect at the next tick; an invalid one is rejected, the running rules stay.
  const reload = (why: string) => {
    try {
      const next = loadRulesets(config.rulesFiles);
      const changed = TRANSPORTS.filter((t) => transportOf(next, t) !== transportOf(current, t));
      if (changed.length) {
        log.warn({ changed: Object.fromEntries(changed.map((t) => [t.what, transportOf(next, t) ?? 'not set'])) }, `${changed.map((t) => t.what).join(', ')} changed: endpoints take effect when the daemon restarts; the rest of the new rules apply now`);
      }
      daemon.setRulesets(next);
      current = next;
      reloadRejected = undefined;
      metrics.rulesReloadRejected.set(0);
      log.info({ why, hashes: next.map((r) => r.hash.slice(0, 12)) }, 'rules reloaded');
    } catch (err) {
      reloadRejected = { at: toRfc3339(clock.now()), error: (err as Error).message };
      metrics.rulesReloadRejected.set(1);
      log.error({ why, problems: err instanceof RulesInvalidError ? err.problems : undefined, error: (err as Error).message }, 'rules reload rejected; the running rules stay in force');
      kubeEvents?.rulesRejected((err as Error).message);
    }
  };
  // Each file's text as last loaded or rejected: a directory event reloads only a file whose text changed, and a
  // rejected text is not rejected (and logged) again at every unrelated event.
  const seen = new Map(config.rulesFiles.map((f, i) => [f, rulesets[i]?.source]));
  const changedFiles = () => config.rulesFiles.filter((f) => readText(f) !== seen.get(f));
  const reloadChanged = (when: string) => {
    const changed = changedFiles();
    if (!changed.length) return;
    for (const f of changed) seen.set(f, readText(f));
    reload(`${changed.join(', ')} changed${when}`);
  };
  // The directories are watched, not the files: a ConfigMap update swaps the `..data` symlink, and editors save by
  // renaming, so the inode a file watch holds is gone after the first change and later ones would go unseen.
  let debounce: NodeJS.Timeout | undefined;
  const watchers = [...new Set(config.rulesFiles.map((f) => path.dirname(path.resolve(f))))].map((dir) =>
    fs.watch(dir, () => {
      clearTimeout(debounce);
      debounce = setTimeout(() => reloadChanged(''), 200);
    }),
  );
  const onHup = () => {
    for (const f of config.rulesFiles) seen.set(f, readText(f));
    reload('SIGHUP');
  };
  process.on('SIGHUP', onHup);
  // A file edited while the daemon started (Kubernetes, the lease, reconciling) changed before the watch began.
  reloadChanged(' during start-up');

  let resolveDone!: () => void;
  const done = new Promise<void>((r) => (resolveDone = r));
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
    // Approved rollbacks being patched finish; then rollouts being verified in the background, within a bound (the
    // chart's grace period is 60 s, a rollout may take --verify-timeout): one cut off is verified after the restart.
    await paging.approvals.idle();
    if (!(await daemon.idle(SETTLE_ON_SHUTDOWN_MS))) log.warn({ waitedSeconds: SETTLE_ON_SHUTDOWN_MS / 1000 }, 'shutting down with a rollout still being verified: it is verified and announced after the restart');
    // Flush what the outbox can send in a bounded time, then stop the worker (the rest is sent after a restart).
    await Promise.race([paging.worker.runOnce(clock.now()).catch(() => {}), new Promise((r) => setTimeout(r, 5000))]);
    await paging.worker.stop();
    await Promise.race([kubeEventsIdle(), new Promise((r) => setTimeout(r, 2000))]);
    await leader.stop();
    await server.close();
    metrics.close();
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

/** How long a shutdown waits for rollouts being verified before it closes the decision log. */
const SETTLE_ON_SHUTDOWN_MS = 30_000;

/** A file's text, or undefined when it is gone or unreadable (the reload then says why). */
function readText(file: string): string | undefined {
  try {
    return fs.readFileSync(file, 'utf8');
  } catch {
    return undefined;
  }
}
