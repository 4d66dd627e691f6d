import type { Command } from 'commander';
import { RecordingSource } from '../../adapters/recording/recording-source.js';
import { MemoryDecisionStore } from '../../adapters/memory/memory-decision-store.js';
import { decisionLogExists, openDecisionLog } from '../../adapters/sqlite/sqlite-decision-store.js';
import { formatDuration } from '../../core/duration.js';
import { toJson } from '../../core/json.js';
import type { Severity } from '../../core/rules-schema.js';
import { toRfc3339 } from '../../core/time-format.js';
import { UsageError } from '../../errors/usage-error.js';
import { replay } from '../../guard/replay.js';
import type { DecisionStore } from '../../ports/decision-store.js';
import { formatTimeline } from '../format-timeline.js';
import type { Io } from '../io.js';
import { loadRulesFile } from '../load-rules-file.js';
import { parseDurationOption, parseSeverity, parseTime } from '../option-parsers.js';

interface ReplayFlags {
  rules: string;
  recording: string;
  releaseAt: string;
  severity: string;
  until?: string;
  window?: string;
  db?: string;
  json?: boolean;
}

/** `replay`: evaluate the rules over a recording, from the release start, with the daemon's own tick. */
export function registerReplay(program: Command, io: Io): void {
  program
    .command('replay')
    .description('replay a recorded release through the rules: the decisions the daemon would have made, as a timeline or JSON')
    .requiredOption('--rules <file>', 'rules file')
    .requiredOption('--recording <file>', 'recording (JSON; see "Recording format" in the README)')
    .requiredOption('--release-at <time>', 'release start, RFC 3339 (e.g. 2026-11-20T14:00:00Z)')
    .option('--severity <severity>', 'release severity: hotfix | minor | major | infrastructure (sets the guard window)', 'minor')
    .option('--until <time>', 'last instant to evaluate, RFC 3339 (default: end of the recording)')
    .option('--window <duration>', "override the severity's guard window, e.g. 2h (default: from the rules file)")
    .option('--db <file>', 'write the release, evaluations and decisions to this SQLite decision log (created if missing)')
    .option('--json', 'print {"release": ..., "decisions": [...]} as JSON instead of a timeline')
    .action(async (flags: ReplayFlags) => {
      const releaseAt = parseTime('--release-at', flags.releaseAt);
      const severity: Severity = parseSeverity(flags.severity);
      const until = flags.until !== undefined ? parseTime('--until', flags.until) : undefined;
      const windowOverride = flags.window !== undefined ? parseDurationOption('--window', flags.window) : undefined;
      const ruleset = loadRulesFile(flags.rules);
      const source = RecordingSource.fromFile(flags.recording);
      if (source.end === undefined) throw new UsageError(`recording ${flags.recording} holds no samples; nothing to replay`);
      if (releaseAt > source.end) {
        throw new UsageError(`--release-at ${toRfc3339(releaseAt)} is after the recording's last sample (${toRfc3339(source.end)}); nothing to replay`);
      }
      if (until !== undefined && until < releaseAt) throw new UsageError(`--until ${toRfc3339(until)} is before --release-at ${toRfc3339(releaseAt)}`);

      const needed = [...ruleset.baselines.map((b) => ({ what: `baseline ${b.name}`, query: b.query })),
        ...ruleset.rules.flatMap((r) => [{ what: `rule ${r.name}`, query: r.query }, ...(r.when ? [{ what: `rule ${r.name} (when)`, query: r.when.query }] : [])])];
      const missing = needed.filter((n) => !source.has(n.query));
      if (missing.length) {
        io.err(`warning: ${missing.length} quer${missing.length === 1 ? 'y is' : 'ies are'} not in the recording; they evaluate as errors (never as healthy):`);
        for (const m of missing) io.err(`  ${m.what}: ${m.query}`);
      }

      const release = { startedAt: releaseAt, severity, windowMs: windowOverride ?? ruleset.windowsMs[severity] };
      const existed = flags.db !== undefined && decisionLogExists(flags.db);
      // Replay commits 500 instants at a time (each still atomic): a week replays in seconds, not minutes.
      const store: DecisionStore = flags.db !== undefined ? openDecisionLog(flags.db, { batchInstants: 500 }) : new MemoryDecisionStore();
      try {
        const result = await replay({ ruleset, release, source, store, sourceName: 'replay:recording', stepMs: source.stepMs, until: until ?? source.end });
        if (flags.json) {
          io.out(
            toJson(
              {
                release: {
                  id: flags.db !== undefined ? result.guard.stored.id : null,
                  target: `${ruleset.target.namespace}/${ruleset.target.deployment}`,
                  startedAt: toRfc3339(releaseAt),
                  severity,
                  window: formatDuration(release.windowMs),
                  rulesHash: ruleset.hash,
                  outcome: result.guard.releaseState.outcome?.kind ?? null,
                  evaluatedUntil: toRfc3339(result.lastAt),
                },
                decisions: result.decisions.map((d) => ({
                  id: flags.db !== undefined ? d.id : null,
                  at: toRfc3339(d.at),
                  action: d.action,
                  tier: d.tier,
                  rule: d.rule,
                  ...(d.level !== undefined ? { level: d.level } : {}),
                  value: d.value,
                  threshold: d.threshold,
                  mode: d.mode,
                  evidence: { ...d.evidence, breachingSince: d.evidence.breachingSince !== undefined ? toRfc3339(d.evidence.breachingSince) : undefined },
                })),
              },
              2,
            ),
          );
        } else {
          io.out(formatTimeline({ ruleset, release, result, recording: flags.recording, source, db: flags.db, dbExisted: existed }));
        }
      } finally {
        store.close();
      }
    });
}
