// The human output of replay: what was replayed, the baselines, then one line per decision and the outcome.
import { comparisonOperator, comparisonText } from '../core/comparison-text.js';
import type { RecordingSource } from '../adapters/recording/recording-source.js';
import { formatDuration } from '../core/duration.js';
import type { Decision } from '../core/engine.js';
import type { Release } from '../core/release.js';
import type { Ruleset } from '../core/ruleset.js';
import { toRfc3339 } from '../core/time-format.js';
import type { ReplayResult } from '../guard/replay.js';
import { formatOffset, formatValue, table } from './format.js';

export function formatTimeline(o: {
  ruleset: Ruleset;
  release: Release;
  result: ReplayResult;
  /** What the data is: `recording FILE` or `Prometheus URL`. */
  dataLabel: string;
  source: RecordingSource;
  db: string | undefined;
  dbExisted: boolean;
}): string {
  const { ruleset, release, result } = o;
  const lines: string[] = [];
  const t = result.guard.stored; // the Deployment replayed (a fleet's is named with --target)
  lines.push(`Replay of ${t.namespace}/${t.deployment}: release at ${toRfc3339(release.startedAt)}, severity ${release.severity}, guard window ${formatDuration(release.windowMs)}`);
  lines.push(`  rules      ${ruleset.file} (sha256 ${ruleset.hash.slice(0, 12)}, ${ruleset.rules.length} rules)`);
  lines.push(`  data       ${o.dataLabel} (step ${formatDuration(o.source.stepMs)}, ${toRfc3339(o.source.start ?? 0)} to ${toRfc3339(o.source.end ?? 0)})`);
  for (const [name, reading] of Object.entries(result.guard.ctx.baselines)) {
    const shown = reading.kind === 'value' ? formatValue(reading.value) : reading.kind === 'error' ? `error: ${reading.error}` : reading.kind;
    lines.push(`  baseline   ${name} = ${shown}`);
  }
  lines.push('');

  if (result.decisions.length === 0) lines.push('No decisions.');
  else {
    const rows = [['TIME', 'AFTER', 'ACTION', 'LVL', 'RULE', 'TIER', 'VALUE', 'THRESHOLD', 'NOTE']];
    for (const d of result.decisions) {
      rows.push([
        toRfc3339(d.at),
        formatOffset(d.at - release.startedAt),
        d.action.toUpperCase(),
        d.level !== undefined ? String(d.level) : '',
        d.rule ?? '-',
        d.tier ?? '-',
        formatValue(d.value),
        d.threshold === null ? '-' : `${comparisonOperator(d.evidence.comparison)} ${formatValue(d.threshold)}`,
        note(d),
      ]);
    }
    lines.push(table(rows));
  }
  lines.push('');

  const outcome = result.guard.releaseState.outcome;
  const rollback = result.decisions.find((d) => d.action === 'rollback' && d.mode === 'enforce');
  if (outcome?.kind === 'rolled-back' && rollback) {
    lines.push(
      `Outcome: ROLL BACK at ${toRfc3339(outcome.at)}, ${formatDuration(outcome.at - release.startedAt)} after the release: ${rollback.rule} = ${comparisonText({ ...rollback, comparison: rollback.evidence.comparison })}` +
        (rollback.evidence.breachingSince !== undefined ? `, breaching since ${toRfc3339(rollback.evidence.breachingSince)}` : ''),
    );
  } else if (outcome?.kind === 'promoted') {
    lines.push(`Outcome: PROMOTE at ${toRfc3339(outcome.at)}: the guard window ended with no rollback and no rule firing.`);
  } else {
    lines.push(`Outcome: still guarding at ${toRfc3339(result.lastAt)} (end of data); the window ends at ${toRfc3339(release.startedAt + release.windowMs)}.`);
  }
  const recovery = result.recovery;
  if (recovery) {
    const readings = recovery.readings.map((r) => `${r.rule} = ${formatValue(r.value)} (${r.verdict})`).join(', ');
    lines.push(
      recovery.outcome
        ? `Recovery (5.3): ${recovery.outcome} at ${toRfc3339(recovery.at)}, ${formatDuration(recovery.at - recovery.since)} after the rollback rolled out (taken as ${toRfc3339(recovery.since)})${readings ? `: ${readings}` : ''}.`
        : `Recovery (5.3): no verdict by ${toRfc3339(recovery.at)} (end of data)${readings ? `; last readings: ${readings}` : ''}.`,
    );
  }
  lines.push(`Evaluated ${result.evaluations} rule-instants over ${result.instants} instants; ${result.decisions.length} decision${result.decisions.length === 1 ? '' : 's'}.`);
  if (o.db !== undefined) {
    lines.push(`Decision log: ${o.db} (${o.dbExisted ? 'appended' : 'created'}; release #${result.guard.stored.id}). Read it with: sqlite3 ${o.db} 'SELECT * FROM decisions WHERE release_id = ${result.guard.stored.id}'`);
  }
  return lines.join('\n');
}

function note(d: Decision): string {
  const parts: string[] = [];
  if (d.mode === 'shadow') parts.push('shadow: logged only');
  if (d.mode === 'page-only' && d.tier === 'immediate') parts.push('page-only');
  if (d.evidence.forMs && d.action !== 'promote' && d.action !== 'resolve') parts.push(`held ${formatDuration(d.evidence.forMs)}`);
  if (d.evidence.baseline) parts.push(`baseline ${d.evidence.baseline.name} ${formatValue(d.evidence.baseline.value)} x ${d.evidence.baseline.factor}`);
  if (d.evidence.labels && Object.keys(d.evidence.labels).length) {
    parts.push('{' + Object.entries(d.evidence.labels).map(([k, v]) => `${k}="${v}"`).join(', ') + '}');
  }
  if (d.evidence.alsoFiring?.length) parts.push(`also firing: ${d.evidence.alsoFiring.join(', ')}`);
  if (d.value === null && d.evidence.note) parts.push(d.evidence.note);
  return parts.join('; ');
}
