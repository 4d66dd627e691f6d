import { comparisonOperator, comparisonText } from '../../core/comparison-text.js';
import type { Command } from 'commander';
import { DecisionLogReader, type Row } from '../../adapters/sqlite/decision-log-reader.js';
import { formatDuration } from '../../core/duration.js';
import { toJson } from '../../core/json.js';
import { parseRules } from '../../core/parse-rules.js';
import type { Rule } from '../../core/ruleset.js';
import { toRfc3339 } from '../../core/time-format.js';
import { UsageError } from '../../errors/usage-error.js';
import { formatOffset, formatValue, isReplay, judgeLines, outcomeText, table, type JudgeEvidence } from '../format.js';
import { addDbOption } from '../incident/log-filter-options.js';
import type { Io } from '../io.js';

/** Evaluations shown at most: a page escalated for hours would otherwise print thousands of lines. */
const MAX_VALUES = 60;
const iso = (text: string) => toRfc3339(Date.parse(text));

/** `explain <id>`: why the guard took one decision, from the log alone, as it was when it was taken. */
export function registerExplain(program: Command, io: Io): void {
  addDbOption(program.command('explain').description('explain one decision: the rule as it was, its values over the hold, threshold, baseline, series, rollback, notifications, approvals; or, with --rollback, a manual rollback').argument('[decision-id]', 'the decision id (log and replay --db print it)'))
    .option('--rollback <id>', 'explain a manual rollback (`rollback-guard rollback`; log lists them) instead of a decision')
    .option('--json', 'print the explanation as JSON')
    .action((idText: string | undefined, flags: { db: string; json?: boolean; rollback?: string }) => {
      if ((idText === undefined) === (flags.rollback === undefined)) throw new UsageError('give a decision id, or --rollback ID for a manual rollback (one of them); take it from `rollback-guard log`');
      const text = idText ?? flags.rollback!;
      if (!/^[1-9]\d*$/.test(text)) throw new UsageError(`${idText !== undefined ? 'decision' : 'rollback'} id ${JSON.stringify(text)} is not a positive integer; take it from \`rollback-guard log\``);
      const reader = DecisionLogReader.open(flags.db);
      try {
        if (flags.rollback !== undefined) {
          const x = explainManualRollback(reader, Number(text));
          io.out(flags.json ? toJson(x, 2) : formatManualRollback(x));
        } else {
          const x = explainDecision(reader, Number(text));
          io.out(flags.json ? toJson(x, 2) : formatExplanation(x));
        }
      } finally {
        reader.close();
      }
    });
}

interface ManualExplanation {
  rollback: Row;
  release: { id: number; target: string; startedAt: string; severity: string; outcome: string | null; decisions: { id: number; at: string; action: string; rule: string | null }[] } | null;
}

/** A manual rollback: who asked, why, what it did, and the guarded release it reverted (with its decisions). */
function explainManualRollback(reader: DecisionLogReader, id: number): ManualExplanation {
  const b = reader.manualRollbacks({ id })[0];
  if (!b) throw new UsageError(`manual rollback ${id} is not in ${reader.file}; \`rollback-guard log --db ${reader.file}\` lists them under "Manual rollbacks"`);
  const r = typeof b.release_id === 'number' ? reader.release(b.release_id) : undefined;
  return {
    rollback: b,
    release: r ? { id: r.id, target: `${r.namespace}/${r.deployment}`, startedAt: iso(r.started_at), severity: r.severity, outcome: r.outcome, decisions: reader.decisions([r.id]).map((d) => ({ id: d.id, at: iso(d.at), action: d.action, rule: d.rule })) } : null,
  };
}

function formatManualRollback(x: ManualExplanation): string {
  const b = x.rollback;
  const out = [`Manual rollback #${String(b.id)} of ${String(b.namespace)}/${String(b.deployment)}: ${String(b.outcome)}${b.dry_run === 1 ? ' (dry run: nothing patched)' : ''}, asked for by ${String(b.by)} at ${iso(String(b.requested_at))}`];
  out.push(`  reason     ${String(b.reason)}`);
  out.push(`  strategy   ${String(b.strategy)}`);
  if (b.from_revision !== null) out.push(`  revision   ${String(b.from_revision)} -> ${String(b.to_revision)}${b.images ? ` (${(JSON.parse(String(b.images)) as string[]).join(', ')})` : ''}`);
  if (b.refusal_code !== null || b.detail !== null) out.push(`  detail     ${[b.refusal_code, b.detail].filter((v) => v !== null).map(String).join(': ')}`);
  out.push(`  finished   ${iso(String(b.finished_at))}${b.verification ? `; ${String(b.verification)} at ${iso(String(b.verified_at))}${b.verification_detail ? ` (${String(b.verification_detail)})` : ''}` : '; rollout not verified'}`);
  if (x.release) {
    const r = x.release;
    out.push(`  release    #${r.id} ${r.target}, ${r.severity}, started ${r.startedAt}, outcome ${r.outcome ?? 'still guarded'}`);
    for (const d of r.decisions) out.push(`    #${d.id} ${d.at} ${d.action}${d.rule ? ` ${d.rule}` : ''}`);
  } else out.push('  release    none guarded (the guard had no release of this revision in this log)');
  return out.join('\n');
}

interface Explanation {
  decision: { id: number; at: string; action: string; tier: string | null; rule: string | null; level: number | null; mode: string; value: number | null; threshold: number | null; afterRelease: string };
  release: { id: number; target: string; startedAt: string; severity: string; windowEndsAt: string; outcome: string | null; source: string };
  rule: { text?: Record<string, unknown>; file: string; hash: string; problem?: string } | null;
  evidence: Record<string, unknown>;
  baselines: { name: string; query: string; value: number | null; status: string }[];
  values: { at: string; verdict: string; state: string; value: number | null; threshold: number | null; labels: Record<string, string> | null }[];
  valuesOmitted: number;
  rollbacks: Row[];
  notifications: Row[];
  approvals: Row[];
}

function explainDecision(reader: DecisionLogReader, id: number): Explanation {
  const d = reader.decision(id);
  if (!d) {
    const range = reader.db.prepare('SELECT min(id) AS lo, max(id) AS hi FROM decisions').get() as { lo: number | null; hi: number | null };
    throw new UsageError(`decision ${id} is not in ${reader.file} (${range.lo === null ? 'it has no decisions' : `its decisions are #${range.lo} to #${range.hi}`}); list them with \`rollback-guard log --db ${reader.file}\``);
  }
  const release = reader.release(d.release_id)!;
  const evidence = JSON.parse(d.evidence) as Record<string, unknown>;
  let rule: Explanation['rule'] = null;
  let parsed: Rule | undefined;
  const rf = reader.rulesFile(d.rules_hash);
  if (d.rule !== null) {
    if (!rf) rule = { file: '?', hash: d.rules_hash, problem: 'the rules file with this hash is not in the log' };
    else {
      try {
        parsed = parseRules(rf.content, rf.file).rules.find((r) => r.name === d.rule);
        rule = parsed ? { file: rf.file, hash: rf.hash, text: describeRule(parsed) } : { file: rf.file, hash: rf.hash, problem: `the rules file has no rule ${d.rule}` };
      } catch (err) {
        rule = { file: rf.file, hash: rf.hash, problem: `the stored rules file no longer parses: ${(err as Error).message}` };
      }
    }
  }
  // The values over the hold: from a minute before the breach began (so the last pass shows) to the decision.
  const at = Date.parse(d.at);
  const since = typeof evidence.breachingSince === 'number' ? evidence.breachingSince : at - (parsed?.forMs ?? 0);
  const rows = d.rule !== null ? reader.evaluations(d.release_id, { from: new Date(since - 60_000).toISOString(), to: d.at, rule: d.rule }) : [];
  const shown = rows.slice(-MAX_VALUES);
  return {
    decision: { id: d.id, at: iso(d.at), action: d.action, tier: d.tier, rule: d.rule, level: d.level, mode: d.mode, value: d.value, threshold: d.threshold, afterRelease: formatOffset(at - Date.parse(release.started_at)) },
    release: { id: release.id, target: `${release.namespace}/${release.deployment}`, startedAt: iso(release.started_at), severity: release.severity, windowEndsAt: iso(release.window_ends_at), outcome: release.outcome, source: release.source },
    rule,
    // The evidence as logged, with its hold start as a time people can read.
    evidence: typeof evidence.breachingSince === 'number' ? { ...evidence, breachingSince: toRfc3339(evidence.breachingSince) } : evidence,
    baselines: reader.baselines(release.id).map((b) => ({ name: b.name, query: b.query, value: b.value, status: b.status })),
    values: shown.map((e) => ({ at: iso(e.at), verdict: e.verdict, state: e.state, value: e.value, threshold: e.threshold, labels: e.labels ? (JSON.parse(e.labels) as Record<string, string>) : null })),
    valuesOmitted: rows.length - shown.length,
    rollbacks: reader.related('rollbacks', { decisionIds: [d.id] }),
    notifications: reader.related('notifications', { decisionIds: [d.id] }),
    approvals: reader.related('approvals', { decisionIds: [d.id] }),
  };
}

function describeRule(r: Rule): Record<string, unknown> {
  const common = {
    name: r.name,
    ...(r.description !== undefined ? { description: r.description } : {}),
    tier: r.tier,
    mode: r.mode,
  };
  const tail = {
    for: formatDuration(r.forMs),
    noData: r.noData,
    ...(r.when ? { when: { query: r.when.query, [r.when.comparison]: r.when.bound } } : {}),
  };
  if (r.kind === 'burn-rate') {
    return { ...common, slo: { objective: r.slo.objective, burnRate: r.slo.burnRate, long: r.slo.long, short: r.slo.short }, query: r.query, shortQuery: r.shortQuery, ...tail };
  }
  if (r.kind === 'judge') {
    const j = r.judge;
    return { ...common, judge: { window: formatDuration(j.windowMs), step: formatDuration(j.stepMs), tolerance: j.tolerance, confidence: j.confidence, pass: j.pass, marginal: j.marginal, metrics: j.metrics.map((m) => ({ name: m.name, query: m.query, direction: m.direction, critical: m.critical })) }, ...tail };
  }
  const t = r.threshold;
  const threshold = t.kind === 'static' ? t.value : t.kind === 'stable' ? { stable: true, factor: t.factor, plus: t.plus } : { baseline: t.baseline, factor: t.factor };
  return { ...common, query: r.query, [r.comparison]: threshold, ...tail };
}

const labelText = (l: Record<string, string> | null | undefined) => (l && Object.keys(l).length ? `{${Object.entries(l).map(([k, v]) => `${k}="${v}"`).join(', ')}}` : '{}');
const rowText = (r: Row) => Object.entries(r).filter(([, v]) => v !== null && v !== undefined).map(([k, v]) => `${k}=${String(v)}`).join('  ');

function formatExplanation(x: Explanation): string {
  const d = x.decision;
  const out: string[] = [];
  out.push(`Decision #${d.id}: ${d.action.toUpperCase()}${d.rule ? ` by rule ${d.rule}` : ''}${d.level !== null ? ` (level ${d.level})` : ''} at ${d.at}, ${d.afterRelease} after the release${d.mode !== 'enforce' ? `; mode ${d.mode}${d.mode === 'shadow' ? ' (logged only, not acted on)' : ''}` : ''}`);
  out.push(`  release    #${x.release.id} ${x.release.target}, ${x.release.severity}, started ${x.release.startedAt}, window to ${x.release.windowEndsAt}, outcome ${isReplay(x.release.source) ? outcomeText(x.release.outcome, x.release.source) : (x.release.outcome ?? 'still guarded')}`);
  const ev = x.evidence;
  if (d.rule !== null) {
    out.push(`  value      ${comparisonText({ ...d, comparison: ev.comparison as 'above' | 'below' | undefined })} (value ${comparisonOperator(ev.comparison as 'above' | 'below' | undefined)} threshold)`);
    const b = ev.baseline as { name: string; value: number; factor: number } | undefined;
    if (b) out.push(`  baseline   ${b.name} = ${formatValue(b.value)} x ${b.factor} = ${formatValue(b.value * b.factor)}`);
    const st = ev.stable as { query: string; value: number; factor: number; plus: number } | undefined;
    if (st) out.push(`  stable     ${formatValue(st.value)} x ${st.factor} + ${st.plus} = ${formatValue(st.value * st.factor + st.plus)} (${st.query}, at the same instant)`);
    const br = ev.burnRate as { objective: number; rate: number; long: { window: string; burnRate: number | null }; short: { window: string; burnRate: number | null } } | undefined;
    if (br) out.push(`  burn rate  ${br.long.window} window ${formatValue(br.long.burnRate, 'no data')}x, ${br.short.window} window ${formatValue(br.short.burnRate, 'no data')}x, against ${br.rate}x of the ${br.objective} % SLO's budget (both must exceed it)`);
    const jd = ev.judge as JudgeEvidence | undefined;
    if (jd) out.push(...judgeLines(jd));
    if (!jd) out.push(`  series     ${labelText(ev.labels as Record<string, string> | undefined)}`);
    if (typeof ev.breachingSince === 'string') out.push(`  breaching  since ${ev.breachingSince}${typeof ev.forMs === 'number' ? `, hold ${formatDuration(ev.forMs)}` : ''}`);
  }
  if (typeof ev.note === 'string') out.push(`  note       ${ev.note}`);
  if (x.rule) {
    out.push('', `Rule as it was when it fired (${x.rule.file}, sha256 ${x.rule.hash.slice(0, 12)}):`);
    if (x.rule.problem) out.push(`  ${x.rule.problem}`);
    for (const [k, v] of Object.entries(x.rule.text ?? {})) out.push(`  ${k}: ${typeof v === 'string' ? v : JSON.stringify(v)}`);
  }
  if (x.values.length) {
    out.push('', `Values of ${d.rule} up to the decision${x.valuesOmitted ? ` (last ${x.values.length}; ${x.valuesOmitted} earlier not shown)` : ''}:`);
    const rows = [['TIME', 'VERDICT', 'STATE', 'VALUE', 'THRESHOLD', 'SERIES']];
    for (const v of x.values) rows.push([v.at, v.verdict, v.state, formatValue(v.value), formatValue(v.threshold), labelText(v.labels)]);
    out.push(table(rows).replace(/^/gm, '  '));
  }
  if (x.baselines.length) {
    out.push('', 'Baselines (read at the release start):');
    for (const b of x.baselines) out.push(`  ${b.name} = ${b.status === 'value' ? formatValue(b.value) : b.status}   ${b.query}`);
  }
  for (const [title, rows] of [['Rollback', x.rollbacks], ['Notifications', x.notifications], ['Approvals', x.approvals]] as const) {
    if (!rows.length) continue;
    out.push('', `${title}:`);
    for (const r of rows) {
      if (title === 'Rollback') {
        out.push(`  ${String(r.outcome)}: revision ${String(r.from_revision ?? '?')} -> ${String(r.to_revision ?? '?')}${r.verification ? `, ${String(r.verification)}` : ''}${r.verified_at ? ` at ${String(r.verified_at)}` : ''}${r.by ? `, by ${String(r.by)}` : ''}${r.dry_run ? ' (dry run)' : ''}`);
        if (r.detail) out.push(`    ${String(r.detail)}`);
        if (r.recovery) out.push(`    recovery (5.3): ${String(r.recovery)} at ${String(r.recovery_at)}${recoveryText(r.recovery_detail)}`);
      } else out.push(`  ${rowText(r)}`);
    }
  }
  return out.join('\n');
}

/** The recovery check's readings, one `rule = value (verdict)` each. */
function recoveryText(detail: unknown): string {
  if (typeof detail !== 'string') return '';
  try {
    const readings = JSON.parse(detail) as { rule: string; verdict: string; value: number | null }[];
    return `: ${readings.map((x) => `${x.rule} = ${x.value === null ? 'n/a' : formatValue(x.value)} (${x.verdict})`).join(', ')}`;
  } catch {
    return '';
  }
}

