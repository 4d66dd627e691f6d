// "value OP threshold" as every reader writes it: the timeline, `explain`, notifications, the action journal and
// the daemon's log. One function, so a `below` rule reads `<` everywhere (the journal once wrote `>` for it).

/** A number as people read it: 4 significant digits, Prometheus's spellings for the odd ones; `missing` for none. */
export function formatValue(v: number | null | undefined, missing = '-'): string {
  if (v === null || v === undefined) return missing;
  if (Number.isNaN(v)) return 'NaN';
  if (!Number.isFinite(v)) return v > 0 ? '+Inf' : '-Inf';
  if (v === 0) return '0';
  const abs = Math.abs(v);
  if (abs >= 1e6 || abs < 1e-3) return v.toExponential(3).replace(/\.?0+e/, 'e');
  return String(Number(v.toPrecision(4)));
}

/** The operator a rule breaches on: `>` for `above`, `<` for `below`. */
export function comparisonOperator(comparison: 'above' | 'below' | undefined): '>' | '<' {
  return comparison === 'below' ? '<' : '>';
}

/** "0.08 > 0.05", "0.4 < 1", "no data > 0.05": a decision's or evaluation's value against its threshold. */
export function comparisonText(c: { value: number | null; threshold: number | null; comparison?: 'above' | 'below' | undefined }): string {
  return `${formatValue(c.value, 'no data')} ${comparisonOperator(c.comparison)} ${formatValue(c.threshold, 'n/a')}`;
}

/** What a decision was about, in one phrase: "error-rate: 0.08 > 0.05", or a manual one's note. */
export function decisionText(d: { rule: string | null; value: number | null; threshold: number | null; evidence: { comparison?: 'above' | 'below' | undefined; note?: string | undefined } }): string {
  if (!d.rule) return d.evidence.note ?? 'manual rollback';
  return `${d.rule}: ${comparisonText({ ...d, comparison: d.evidence.comparison })}`;
}
