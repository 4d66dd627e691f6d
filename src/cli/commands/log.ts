import type { Command } from 'commander';
import { DecisionLogReader, type Row } from '../../adapters/sqlite/decision-log-reader.js';
import { formatDuration } from '../../core/duration.js';
import { toJson } from '../../core/json.js';
import { toRfc3339 } from '../../core/time-format.js';
import { formatValue, isReplay, outcomeText, table } from '../format.js';
import { addFilterOptions, csvField, type FilterFlags, parseFilter } from '../incident/log-filter-options.js';
import { type ReleaseSummary, summarizeReleases } from '../incident/release-summary.js';
import { UsageError } from '../../errors/usage-error.js';
import type { Io } from '../io.js';

const iso = (text: string) => toRfc3339(Date.parse(text));
const dur = (ms: number | undefined) => (ms === undefined ? '-' : formatDuration(ms));

/** `log`: the releases in a decision log, newest first, with how fast each problem was detected and recovered. */
export function registerLog(program: Command, io: Io): void {
  const cmd = program
    .command('log')
    .description('list the releases in a decision log, newest first: outcome, time to detect, time to recover, decisions');
  addFilterOptions(cmd)
    .option('--json', 'print the releases as a JSON array')
    .option('--csv', 'print one CSV row per release')
    .action((flags: FilterFlags) => {
      const filter = parseFilter(flags, Date.now());
      const reader = DecisionLogReader.open(flags.db);
      try {
        const summaries = summarizeReleases(reader, reader.releases(filter), filter.actions);
        // An id that is not there is a wrong id, not an empty match (as in explain and report).
        if (filter.releaseId !== undefined && !summaries.length && !reader.releases({ releaseId: filter.releaseId }).length) {
          throw new UsageError(`release ${filter.releaseId} is not in ${flags.db}; list the releases with \`rollback-guard log --db ${flags.db}\``);
        }
        // Manual rollbacks (`rollback-guard rollback`) have no decision: listed on their own, guarded release or not.
        const manual = filter.actions?.length && !filter.actions.includes('rollback') ? [] : reader.manualRollbacks(filter);
        if (flags.json) io.out(toJson(summaries.map(toRecord), 2));
        else if (flags.csv) io.out(toCsv(summaries));
        else {
          io.out(summaries.length ? toTable(summaries) : `no releases in ${flags.db} match`);
          if (manual.length) io.out(`\nManual rollbacks (rollback-guard rollback):\n${manualTable(manual)}`);
        }
      } finally {
        reader.close();
      }
    });
}

function decisionsText(s: ReleaseSummary): string {
  const decided = s.decisions.map((d) => `#${d.id} ${d.action}${d.rule ? ` ${d.rule}` : ''}${d.level !== null && d.action !== 'page' && d.action !== 'rollback' ? ` L${d.level}` : ''}${d.mode === 'shadow' ? ' (shadow)' : ''}`);
  const manual = s.manualRollback ? [`manual rollback #${String(s.manualRollback.id)} by ${String(s.manualRollback.by)}`] : [];
  return [...decided, ...manual].join(', ');
}

function manualTable(rows: readonly Row[]): string {
  const out = [['ROLLBACK', 'REQUESTED', 'TARGET', 'BY', 'OUTCOME', 'RELEASE', 'REASON']];
  for (const b of rows) {
    out.push([`#${String(b.id)}`, iso(String(b.requested_at)), `${String(b.namespace)}/${String(b.deployment)}`, String(b.by), `${String(b.outcome)}${b.dry_run === 1 ? ' (dry run)' : ''}${b.verification ? `, ${String(b.verification)}` : ''}`, b.release_id === null ? '-' : `#${String(b.release_id)}`, String(b.reason)]);
  }
  return table(out);
}

/** A manual rollback as JSON: who, why, what it did. */
function manualRecord(b: Row) {
  return { id: b.id, requestedAt: iso(String(b.requested_at)), by: b.by, reason: b.reason, outcome: b.outcome, dryRun: b.dry_run === 1, fromRevision: b.from_revision, toRevision: b.to_revision, verification: b.verification, releaseId: b.release_id };
}

function toTable(summaries: readonly ReleaseSummary[]): string {
  const rows = [['RELEASE', 'STARTED', 'TARGET', 'SEVERITY', 'OUTCOME', 'DETECTED', 'TO DETECT', 'TO RECOVER', 'DECISIONS']];
  for (const s of summaries) {
    const r = s.release;
    rows.push([
      `#${r.id}`,
      iso(r.started_at),
      `${r.namespace}/${r.deployment}`,
      r.severity,
      outcomeText(r.outcome, r.source),
      s.detection ? iso(s.detection.at) : '-',
      dur(s.timeToDetectMs),
      // A replay reverted nothing, so nothing recovered: not "unknown".
      s.rollback && s.timeToRecoverMs === undefined && !isReplay(r.source) ? 'unknown' : dur(s.timeToRecoverMs),
      decisionsText(s) || '-',
    ]);
  }
  return table(rows);
}

function toRecord(s: ReleaseSummary) {
  const r = s.release;
  return {
    id: r.id,
    target: `${r.namespace}/${r.deployment}`,
    startedAt: iso(r.started_at),
    severity: r.severity,
    source: r.source,
    rulesHash: r.rules_hash,
    outcome: r.outcome,
    endedAt: r.ended_at !== null ? iso(r.ended_at) : null,
    detectedAt: s.detection ? iso(s.detection.at) : null,
    timeToDetectSeconds: s.timeToDetectMs !== undefined ? s.timeToDetectMs / 1000 : null,
    rollbackCompleteAt: s.rollbackCompleteAt !== undefined ? iso(s.rollbackCompleteAt) : null,
    timeToRecoverSeconds: s.timeToRecoverMs !== undefined ? s.timeToRecoverMs / 1000 : null,
    decisions: s.decisions.map((d) => ({ id: d.id, at: iso(d.at), action: d.action, tier: d.tier, rule: d.rule, level: d.level, mode: d.mode, value: d.value, threshold: d.threshold })),
    manualRollbacks: s.rollbacks.filter((b) => b.decision_id === null).map(manualRecord),
  };
}

function toCsv(summaries: readonly ReleaseSummary[]): string {
  const head = ['release', 'started_at', 'target', 'severity', 'outcome', 'detected_at', 'time_to_detect_s', 'rollback_complete_at', 'time_to_recover_s', 'decisions'];
  const lines = [head.join(',')];
  for (const s of summaries) {
    const rec = toRecord(s);
    lines.push(
      [rec.id, rec.startedAt, rec.target, rec.severity, rec.outcome, rec.detectedAt, rec.timeToDetectSeconds, rec.rollbackCompleteAt, rec.timeToRecoverSeconds, s.decisions.map((d) => `${d.id}:${d.action}:${d.rule ?? ''}:${formatValue(d.value)}`).join(' ')]
        .map(csvField)
        .join(','),
    );
  }
  return lines.join('\n');
}
