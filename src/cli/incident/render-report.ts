// The incident report: one self-contained HTML file (inline CSS and SVG, no script, no network), readable on
// screen in light or dark mode and on paper.
import type { DecisionRow, Row } from '../../adapters/sqlite/decision-log-reader.js';
import { formatDuration } from '../../core/duration.js';
import { toRfc3339 } from '../../core/time-format.js';
import { formatValue, isReplay, outcomeText } from '../format.js';
import type { ReleaseSummary } from './release-summary.js';
import { type ChartMarker, type ChartPoint, esc, renderChart } from './svg-chart.js';

export interface RuleSeries {
  rule: string;
  description?: string;
  tier?: string;
  query?: string;
  comparison?: string;
  points: ChartPoint[];
}

export interface ReportModel {
  summary: ReleaseSummary;
  rules: RuleSeries[];
  notifications: { t: number; decisionId?: number; row: Row }[];
  t0: number;
  t1: number;
  generatedAt: string;
}

const iso = (text: string) => toRfc3339(Date.parse(text));
const dur = (ms: number | undefined) => (ms === undefined ? 'not recorded' : formatDuration(ms));

/** The one-sentence summary at the top of the report. */
export function summarySentence(s: ReleaseSummary): string {
  const r = s.release;
  const replayed = isReplay(r.source);
  const who = `${replayed ? 'Replayed release' : 'Release'} #${r.id} of ${r.namespace}/${r.deployment} (${r.severity}, started ${iso(r.started_at)})`;
  const pages = s.decisions.filter((d) => d.action === 'page' && d.mode !== 'shadow').length;
  const pageText = pages ? `, after ${pages} page${pages === 1 ? '' : 's'}` : '';
  const manual = s.manualRollback;
  if (manual && !s.rollback) {
    return `${who} was rolled back by hand by ${String(manual.by)} at ${iso(String(manual.requested_at))} (\`rollback-guard rollback\`: ${String(manual.reason)})${pageText}; ${s.rollbackCompleteAt !== undefined ? `the rollback was complete ${dur(s.timeToRecoverMs)} after it was asked for` : 'the rollback completion was not recorded'}.`;
  }
  if (r.outcome === 'rolled-back' && s.rollback) {
    return `${who} was rolled back when ${s.rollback.rule ?? 'a rule'} fired at ${iso(s.rollback.at)}${pageText}; trouble was detected ${dur(s.timeToDetectMs)} after the release and ${s.rollbackCompleteAt !== undefined ? `the rollback was complete ${dur(s.timeToRecoverMs)} after detection` : 'the rollback completion was not recorded'}.`;
  }
  if (r.outcome === 'promoted') return `${who} was promoted at ${r.ended_at ? iso(r.ended_at) : '?'} with no rollback${pageText}.`;
  if (replayed) return `${who} reached no outcome before the recorded data ended${r.last_evaluated_at ? ` (last evaluated ${iso(r.last_evaluated_at)})` : ''}${pageText}.`;
  return `${who} is still guarded${r.last_evaluated_at ? ` (last evaluated ${iso(r.last_evaluated_at)})` : ''}${pageText}.`;
}

const CSS = `
:root{--bg:#fff;--fg:#1b1f24;--muted:#5b6470;--grid:#e3e6ea;--plot:#fafbfc;--value:#1f6feb;--threshold:#b35900;--pending:rgba(212,160,23,.22);--firing:rgba(207,34,46,.20);--decision:#cf222e;--page:#8250df;--notification:#1a7f37;--border:#d0d7de}
@media (prefers-color-scheme: dark){:root{--bg:#0d1117;--fg:#e6edf3;--muted:#9aa5b1;--grid:#30363d;--plot:#161b22;--value:#58a6ff;--threshold:#f0883e;--pending:rgba(210,153,34,.25);--firing:rgba(248,81,73,.25);--decision:#ff7b72;--page:#d2a8ff;--notification:#56d364;--border:#30363d}}
*{box-sizing:border-box}body{margin:0 auto;max-width:960px;padding:24px;background:var(--bg);color:var(--fg);font:14px/1.45 system-ui,-apple-system,"Segoe UI",sans-serif}
h1{font-size:20px;margin:0 0 8px}h2{font-size:16px;margin:28px 0 6px}h3{font-size:14px;margin:18px 0 2px}
.summary{font-size:15px;margin:0 0 12px}.muted,.meta{color:var(--muted)}code{font:12px ui-monospace,monospace;word-break:break-all}
dl.kpi{display:flex;gap:28px;margin:8px 0 16px}dl.kpi div{border-left:3px solid var(--border);padding-left:8px}dl.kpi dt{color:var(--muted);font-size:12px}dl.kpi dd{margin:0;font-size:18px;font-weight:600}
table{border-collapse:collapse;width:100%;font-size:12.5px}th,td{text-align:left;padding:3px 8px;border-bottom:1px solid var(--border);vertical-align:top}th{color:var(--muted);font-weight:600}
.rule{break-inside:avoid;page-break-inside:avoid;margin-bottom:10px}
svg.chart{width:100%;height:auto;display:block}
.plot{fill:var(--plot);stroke:var(--border)}.grid{stroke:var(--grid);stroke-width:1}.tick{fill:var(--muted);font-size:11px}
.series{fill:none;stroke-width:1.6;stroke-linejoin:round}.series.value{stroke:var(--value)}.series.threshold{stroke:var(--threshold);stroke-dasharray:6 4}
.span.pending{fill:var(--pending)}.span.firing{fill:var(--firing)}
.marker line{stroke:var(--decision);stroke-width:1.5}.marker text{fill:var(--decision);font-size:11px;font-weight:600}
.marker.page line,.marker.escalate line,.marker.resolve line{stroke:var(--page)}.marker.page text,.marker.escalate text,.marker.resolve text{fill:var(--page)}
.marker.promote line{stroke:var(--notification)}.marker.promote text{fill:var(--notification)}
.marker.notification line{stroke:var(--notification);stroke-dasharray:2 3}.marker.notification text{fill:var(--notification);font-weight:400}
.legend{display:flex;gap:16px;flex-wrap:wrap;font-size:12px;color:var(--muted);margin:4px 0 12px}.legend i{display:inline-block;width:18px;height:10px;margin-right:5px;vertical-align:middle}
@media print{:root{--bg:#fff;--fg:#000;--muted:#444;--plot:#fff;--grid:#ddd;--border:#bbb}body{max-width:none;padding:0;font-size:11pt}h2{break-after:avoid}a{color:inherit}}
`;

function decisionLabel(d: DecisionRow): string {
  return `#${d.id} ${d.action}${d.level !== null && d.action === 'escalate' ? ` L${d.level}` : ''}${d.mode === 'shadow' ? ' (shadow)' : ''}`;
}

export function renderReport(m: ReportModel): string {
  const s = m.summary;
  const r = s.release;
  const decisionMarkers = (rule: string): ChartMarker[] =>
    s.decisions.filter((d) => d.rule === rule || d.rule === null).map((d) => ({ t: Date.parse(d.at), kind: 'decision', label: decisionLabel(d), id: d.id, action: d.action }));
  const ruleDecisionIds = (rule: string) => new Set(s.decisions.filter((d) => d.rule === rule).map((d) => d.id));
  const notificationMarkers = (rule: string): ChartMarker[] => {
    const ids = ruleDecisionIds(rule);
    return m.notifications.filter((nt) => nt.decisionId !== undefined && ids.has(nt.decisionId)).map((nt) => ({ t: nt.t, kind: 'notification', label: String(nt.row.channel ?? nt.row.kind ?? 'notified') }));
  };
  const charts = m.rules.map((rs) => {
    const chart = renderChart(`${rs.rule}: value against threshold`, rs.points, [...decisionMarkers(rs.rule), ...notificationMarkers(rs.rule)], m.t0, m.t1);
    return `<section class="rule" data-rule="${esc(rs.rule)}"><h3>${esc(rs.rule)} <span class="muted">${esc([rs.tier, rs.comparison].filter(Boolean).join(', '))}</span></h3>${rs.description ? `<div class="meta">${esc(rs.description)}</div>` : ''}${rs.query ? `<div class="meta"><code>${esc(rs.query)}</code></div>` : ''}${chart}</section>`;
  });
  const rows = s.decisions
    .map((d) => `<tr><td>#${d.id}</td><td>${esc(iso(d.at))}</td><td>${esc(d.action)}</td><td>${esc(d.rule ?? '-')}</td><td>${d.level ?? ''}</td><td>${esc(d.mode)}</td><td>${esc(formatValue(d.value))}</td><td>${esc(formatValue(d.threshold))}</td></tr>`)
    .join('');
  const notes = m.notifications
    .map((nt) => `<tr><td>${esc(toRfc3339(nt.t))}</td><td>${nt.decisionId !== undefined ? `#${nt.decisionId}` : ''}</td><td>${esc(Object.entries(nt.row).filter(([k, v]) => v !== null && k !== 'id' && k !== 'decision_id' && k !== 'release_id').map(([k, v]) => `${k}=${String(v)}`).join('  '))}</td></tr>`)
    .join('');
  const rollbacks = s.rollbacks
    .map((rb) => `<tr><td>${esc(String(rb.outcome ?? ''))}${rb.dry_run === 1 ? ' (dry run)' : ''}</td><td>${rb.decision_id === null ? `manual, by ${esc(String(rb.by ?? '?'))}: ${esc(String(rb.reason ?? ''))}` : `decision #${esc(String(rb.decision_id))}`}</td><td>${esc(String(rb.from_revision ?? '?'))} → ${esc(String(rb.to_revision ?? '?'))}</td><td>${esc(String(rb.verification ?? ''))}</td><td>${esc(String(rb.verified_at ?? rb.finished_at ?? ''))}</td></tr>`)
    .join('');
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1"><meta name="color-scheme" content="light dark">
<title>Release #${r.id} ${esc(r.namespace)}/${esc(r.deployment)}: rollback-guard report</title><style>${CSS}</style></head>
<body>
<h1>Release #${r.id}: ${esc(r.namespace)}/${esc(r.deployment)}</h1>
<p class="summary">${esc(summarySentence(s))}</p>
<dl class="kpi"><div><dt>Time to detect</dt><dd data-kpi="ttd">${esc(s.timeToDetectMs === undefined ? '-' : formatDuration(s.timeToDetectMs))}</dd></div><div><dt>Time to recover</dt><dd data-kpi="ttr">${esc(s.timeToRecoverMs === undefined ? (s.rollback && !isReplay(r.source) ? 'not recorded' : '-') : formatDuration(s.timeToRecoverMs))}</dd></div><div><dt>Outcome</dt><dd>${esc(outcomeText(r.outcome, r.source))}</dd></div><div><dt>Window</dt><dd>${esc(formatDuration(r.window_seconds * 1000))}</dd></div></dl>
<div class="meta">Source ${esc(r.source)} · rules sha256 ${esc(r.rules_hash.slice(0, 12))} · window ${esc(iso(r.started_at))} to ${esc(iso(r.window_ends_at))} · generated ${esc(m.generatedAt)}</div>
<h2>Rules over the release</h2>
<div class="legend"><span><i style="background:var(--value)"></i>value</span><span><i style="border-top:2px dashed var(--threshold);height:0"></i>threshold</span><span><i style="background:var(--pending)"></i>pending</span><span><i style="background:var(--firing)"></i>firing</span><span><i style="background:var(--decision);width:2px"></i>decision</span><span><i style="border-left:2px dotted var(--notification);width:2px"></i>notification</span></div>
${charts.join('\n') || '<p class="muted">No evaluations are left for this release (pruned, or it never ran).</p>'}
<h2>Decisions</h2>
${rows ? `<table><thead><tr><th>id</th><th>time</th><th>action</th><th>rule</th><th>level</th><th>mode</th><th>value</th><th>threshold</th></tr></thead><tbody>${rows}</tbody></table>` : '<p class="muted">No decisions.</p>'}
${rollbacks ? `<h2>Rollbacks</h2><table><thead><tr><th>outcome</th><th>asked by</th><th>revision</th><th>verification</th><th>at</th></tr></thead><tbody>${rollbacks}</tbody></table>` : ''}
${notes ? `<h2>Notifications</h2><table><thead><tr><th>time</th><th>decision</th><th>detail</th></tr></thead><tbody>${notes}</tbody></table>` : ''}
</body></html>
`;
}
