import type { Command } from 'commander';
import { PrometheusClient } from '../../adapters/prometheus/prometheus-client.js';
import { RecordingSource } from '../../adapters/recording/recording-source.js';
import type { MetricSource } from '../../ports/metric-source.js';
import { MemoryDecisionStore } from '../../adapters/memory/memory-decision-store.js';
import { decisionLogExists, openDecisionLog } from '../../adapters/sqlite/sqlite-decision-store.js';
import { formatDuration } from '../../core/duration.js';
import { toJson } from '../../core/json.js';
import type { Severity } from '../../core/rules-schema.js';
import { rulesetQueries } from '../../core/rule-parts.js';
import { mayGuard, type Ruleset } from '../../core/ruleset.js';
import { toRfc3339 } from '../../core/time-format.js';
import { decisionJson } from '../format.js';
import { UsageError } from '../../errors/usage-error.js';
import { replay } from '../../guard/replay.js';
import type { DecisionStore, StoredDecision } from '../../ports/decision-store.js';
import { readRecordedRelease, type RecordedRelease } from '../../adapters/sqlite/recorded-release.js';
import { formatTimeline } from '../format-timeline.js';
import type { Io } from '../io.js';
import { loadRulesFile } from '../load-rules-file.js';
import { readReleaseHistory } from '../prometheus-history.js';
import { parseDurationOption, parseSeverity, parseTime, targetOption } from '../option-parsers.js';
import { addPrometheusOptions, prometheusConnection, type PrometheusFlags } from '../prometheus-options.js';

interface ReplayFlags extends PrometheusFlags {
  rules: string;
  recording?: string;
  releaseAt?: string;
  fromLog?: string;
  release?: string;
  target?: string;
  selector?: string;
  stableSelector?: string;
  severity: string;
  from?: string;
  to?: string;
  step?: string;
  until?: string;
  window?: string;
  db?: string;
  json?: boolean;
}

/** `replay`: evaluate the rules over recorded or Prometheus history, from the release start, with the daemon's tick. */
export function registerReplay(program: Command, io: Io): void {
  const cmd = program
    .command('replay')
    .description("replay a release through the rules, from a recording or straight from Prometheus's history: the decisions the daemon would have made")
    .requiredOption('--rules <file>', 'rules file')
    .option('--recording <file>', 'recording to replay (JSON; see "Recording format" in the README)')
    .option('--release-at <time>', 'release start, RFC 3339 (e.g. 2026-11-20T14:00:00Z); required unless --from-log gives it')
    .option('--from-log <file>', "replay a release a daemon guarded, from its decision log (with --release): its start, severity and window, when its rollback rolled out, and the manual triggers, approvals and declines it received, at their recorded times")
    .option('--release <id>', 'with --from-log: the id of the release to replay (rollback-guard log lists them)')
    .option('--target <namespace/deployment>', "the Deployment replayed, one of the rules file's targets (default: its first; with --from-log: the release's)")
    .option('--selector <key=value,...>', "the Deployment's pod selector, for queries that use {{selector}} (with --from-log: the one recorded)")
    .option('--stable-selector <key=value,...>', "for a canary (compareTo): the stable Deployment's pod selector, for its {{selector}} (with --from-log: the one recorded)")
    .option('--severity <severity>', 'release severity: hotfix | minor | major | infrastructure (sets the guard window)', 'minor')
    .option('--from <time>', 'with --prometheus: start of the history to read (default: --release-at)')
    .option('--to <time>', 'with --prometheus: end of the history to read (required with --prometheus)')
    .option('--step <duration>', "with --prometheus: evaluation step (default: the rules file's interval, 15s unless set)")
    .option('--until <time>', 'last instant to evaluate, RFC 3339 (default: end of the data)')
    .option('--window <duration>', "override the severity's guard window, e.g. 2h (default: from the rules file)")
    .option('--db <file>', 'write the release, evaluations and decisions to this SQLite decision log (created if missing)')
    .option('--json', 'print {"release": ..., "decisions": [...]} as JSON instead of a timeline');
  addPrometheusOptions(cmd).action(async (flags: ReplayFlags) => {
    const recorded = fromLog(flags);
    if (flags.releaseAt === undefined && !recorded) throw new UsageError('--release-at is required (the release start), or --from-log FILE --release ID to replay a release a daemon guarded');
    const releaseAt = flags.releaseAt !== undefined ? parseTime('--release-at', flags.releaseAt) : recorded!.startedAt;
    // From the log unless --severity says otherwise: its severity, and the window it was guarded with.
    const logged = recorded && cmd.getOptionValueSource('severity') === 'default' ? recorded : undefined;
    const severity: Severity = logged ? logged.severity : parseSeverity(flags.severity);
    const until = flags.until !== undefined ? parseTime('--until', flags.until) : undefined;
    const windowOverride = flags.window !== undefined ? parseDurationOption('--window', flags.window) : undefined;
    const file = loadRulesFile(flags.rules);
    if (recorded && !mayGuard(file, recorded)) {
      throw new UsageError(`release ${recorded.id} in ${flags.fromLog} is of ${recorded.namespace}/${recorded.deployment}, which ${flags.rules} does not guard; give the rules file of that Deployment`);
    }
    // A recording says which Deployment its queries were bound for (as the decision log does for --from-log).
    const recording = flags.recording !== undefined ? RecordingSource.fromFile(flags.recording) : undefined;
    const bound = recorded ?? recording?.target;
    if (bound && !recorded && flags.target === undefined && !mayGuard(file, bound)) {
      throw new UsageError(`recording ${flags.recording} was made for ${bound.namespace}/${bound.deployment}, which ${flags.rules} does not guard; give the rules file of that Deployment, or --target`);
    }
    // Per-target queries bound for the Deployment replayed: what the daemon sent for it, and what is recorded.
    const { target, bound: ruleset } = targetOption(file, flags, bound && { namespace: bound.namespace, deployment: bound.deployment, ...(bound.selector ? { selector: bound.selector } : {}), ...(bound.stable ? { stable: bound.stable } : {}) });
    // The log speaks for the release up to its end (and its recovery verdict): read Prometheus up to then.
    if (recorded && flags.recording === undefined && flags.to === undefined && recorded.lastAt !== undefined) flags.to = toRfc3339(recorded.lastAt);
    const { source, pinned, label } = await loadData(flags, ruleset, releaseAt, io, recording);
    // The span the data speaks for: a range read from Prometheus (or recorded with one) ends at --to even when
    // its last stretch is empty, which a live daemon would have seen as empty too.
    // In evaluation time: the data is read as of each instant less `evaluationOffset`.
    const offset = ruleset.evaluationOffsetMs;
    const covers = source.covers;
    if (covers === undefined) throw new UsageError(`${label} holds no samples; nothing to replay`);
    const span = { start: covers.start + offset, end: covers.end + offset };
    if (releaseAt < span.start) {
      throw new UsageError(`--release-at ${toRfc3339(releaseAt)} is before the start of ${label} (${toRfc3339(span.start)}): the release's baselines and first instants were not recorded; record from earlier, or give a later --release-at`);
    }
    if (releaseAt > span.end) throw new UsageError(`--release-at ${toRfc3339(releaseAt)} is after the end of ${label} (${toRfc3339(span.end)}); nothing to replay`);
    if (until !== undefined && until < releaseAt) throw new UsageError(`--until ${toRfc3339(until)} is before --release-at ${toRfc3339(releaseAt)}`);

    const missing = rulesetQueries(ruleset).filter((n) => !source.has(n.query));
    if (missing.length) {
      io.err(`warning: ${missing.length} quer${missing.length === 1 ? 'y is' : 'ies are'} not in the recording; they evaluate as errors (never as healthy):`);
      for (const m of missing) io.err(`  ${m.what}: ${m.query}`);
    }

    const release = { startedAt: releaseAt, severity, windowMs: windowOverride ?? logged?.windowMs ?? ruleset.windowsMs[severity] };
    const existed = flags.db !== undefined && decisionLogExists(flags.db);
    // Replay commits 500 instants at a time (each still atomic): a week replays in seconds, not minutes.
    const store: DecisionStore = flags.db !== undefined ? openDecisionLog(flags.db, { batchInstants: 500 }) : new MemoryDecisionStore();
    try {
      const sourceName = flags.recording !== undefined ? 'replay:recording' : 'replay:prometheus';
      const rolloutAt = (d: StoredDecision) => recorded?.rollouts.find((r) => r.decision.at === d.at && r.decision.rule === d.rule)?.at;
      const replayed = { namespace: target.namespace, deployment: target.deployment };
      const result = await replay({ ruleset, release, target: replayed, ...(target.selector ? { selector: { ...target.selector } } : {}), ...(target.stable ? { stable: { namespace: target.stable.namespace, deployment: target.stable.deployment, ...(target.stable.selector ? { selector: { ...target.stable.selector } } : {}) } } : {}), source: pinned, store, sourceName, stepMs: source.stepMs, until: until ?? span.end, rolloutAt, ...(recorded ? { inputs: recorded.inputs } : {}) });
      if (flags.json) {
        io.out(
          toJson(
            {
              release: {
                id: flags.db !== undefined ? result.guard.stored.id : null,
                target: `${target.namespace}/${target.deployment}`,
                startedAt: toRfc3339(releaseAt),
                severity,
                window: formatDuration(release.windowMs),
                rulesHash: ruleset.hash,
                outcome: result.guard.releaseState.outcome?.kind ?? null,
                evaluatedUntil: toRfc3339(result.lastAt),
              },
              ...(result.recovery
                ? { recovery: { since: toRfc3339(result.recovery.since), at: toRfc3339(result.recovery.at), outcome: result.recovery.outcome ?? null, readings: result.recovery.readings } }
                : {}),
              decisions: result.decisions.map((d) => ({ id: flags.db !== undefined ? d.id : null, ...decisionJson(d) })),
            },
            2,
          ),
        );
      } else {
        io.out(formatTimeline({ ruleset, release, result, dataLabel: label, source, db: flags.db, dbExisted: existed }));
      }
    } finally {
      store.close();
    }
  });
}

/**
 * The data to replay: a recording file, or Prometheus's history read as range queries on the daemon's grid (every
 * multiple of the step, as of each instant less `evaluationOffset`) and held in memory as a recording, with the
 * baselines read as the daemon reads them: one instant query at the release start (`pinned`).
 */
async function loadData(flags: ReplayFlags, ruleset: Ruleset, releaseAt: number, io: Io, preloaded?: RecordingSource): Promise<{ source: RecordingSource; pinned: MetricSource; label: string }> {
  const conn = prometheusConnection(flags);
  if ((flags.recording === undefined) === (conn === undefined)) {
    throw new UsageError('give exactly one of --recording FILE or --prometheus URL (or PROMETHEUS_URL) as the data to replay');
  }
  if (flags.recording !== undefined) {
    for (const f of ['from', 'to', 'step'] as const) if (flags[f] !== undefined) throw new UsageError(`--${f} is for --prometheus; a recording has its own range and step`);
    const source = preloaded ?? RecordingSource.fromFile(flags.recording);
    return { source, pinned: source, label: `recording ${flags.recording}` };
  }
  if (flags.to === undefined) throw new UsageError('--to is required with --prometheus: the end of the history to read');
  const stepMs = flags.step !== undefined ? parseDurationOption('--step', flags.step) : ruleset.intervalMs;
  const from = flags.from !== undefined ? parseTime('--from', flags.from) : releaseAt;
  const to = parseTime('--to', flags.to);
  if (from > releaseAt) throw new UsageError('--from must not be after --release-at');
  if (to < releaseAt) throw new UsageError('--to must not be before --release-at');
  const client = new PrometheusClient(conn!);
  const { source, pinned, warnings } = await readReleaseHistory(client, ruleset, releaseAt, from, to, stepMs);
  for (const w of warnings) io.err(`warning: Prometheus: ${w}`);
  return { source, pinned, label: `Prometheus ${client.baseUrl}` };
}

/** The release `--from-log FILE --release ID` names, read from that decision log; undefined without --from-log. */
function fromLog(flags: ReplayFlags): RecordedRelease | undefined {
  if ((flags.fromLog === undefined) !== (flags.release === undefined)) throw new UsageError('--from-log and --release go together: the decision log, and the id of the release in it to replay');
  if (flags.fromLog === undefined) return undefined;
  const id = Number(flags.release);
  if (!Number.isInteger(id) || id < 1) throw new UsageError(`--release must be a release id (a positive whole number), not "${flags.release}"`);
  return readRecordedRelease(flags.fromLog, id);
}
