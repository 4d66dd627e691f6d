// Backtest verdicts: what a rules file decides for a past release, against what is known to have happened to it.
// Pure: the replay's decisions and the known outcome in, the verdict out.
//
//   agrees        kept and not reverted by these rules, or reverted and reverted by them within one evaluation
//   earlier/later reverted by these rules too, sooner or later than it was (by `deltaSeconds`)
//   would-revert  kept (promoted, or still running), but these rules revert it: a false revert unless the outcome
//                 says otherwise
//   would-miss    reverted (by the guard or a person), but these rules never revert it
//   unknown       no known outcome to compare with (a ReplicaSet without a decision log, a list without `known`)
//   no-data       the release could not be replayed (`reason` says why); never counted as an agreement

export type KnownOutcome = { kind: 'kept' } | { kind: 'reverted'; at?: number; by?: 'guard' | 'person' } | { kind: 'unknown' };

export type Verdict = 'agrees' | 'earlier' | 'later' | 'would-revert' | 'would-miss' | 'unknown' | 'no-data';

export interface BacktestDecision {
  at: number;
  action: string;
  rule: string | null;
}

export interface Judged {
  verdict: Verdict;
  /** Seconds from the release start to these rules' first rollback (none: they do not revert it). */
  detectSeconds?: number;
  /** earlier/later: how much, in seconds (positive). */
  deltaSeconds?: number;
}

/** The verdict for one release: its replay's decisions (`undefined`: it could not be replayed) and its known fate. */
export function judgeRelease(startedAt: number, known: KnownOutcome, decisions: readonly BacktestDecision[] | undefined, stepMs: number): Judged {
  if (!decisions) return { verdict: 'no-data' };
  const revert = decisions.find((d) => d.action === 'rollback');
  const detect = revert ? { detectSeconds: (revert.at - startedAt) / 1000 } : {};
  if (known.kind === 'unknown') return { verdict: 'unknown', ...detect };
  if (known.kind === 'kept') return { verdict: revert ? 'would-revert' : 'agrees', ...detect };
  if (!revert) return { verdict: 'would-miss' };
  if (known.at === undefined) return { verdict: 'agrees', ...detect };
  const delta = revert.at - known.at;
  // Within one evaluation is the same decision (the daemon and a replay judge the same instants).
  if (Math.abs(delta) <= stepMs) return { verdict: 'agrees', ...detect };
  return { verdict: delta < 0 ? 'earlier' : 'later', deltaSeconds: Math.abs(delta) / 1000, ...detect };
}

export interface BacktestSummary {
  releases: number;
  agreements: number;
  falseReverts: number;
  misses: number;
  earlier: number;
  later: number;
  unknown: number;
  noData: number;
  /** Median seconds from release start to the first rollback, over the releases these rules revert. */
  medianDetectSeconds: number | null;
}

export function summarize(rows: readonly Judged[]): BacktestSummary {
  const count = (v: Verdict) => rows.filter((r) => r.verdict === v).length;
  const detect = rows.flatMap((r) => (r.detectSeconds !== undefined ? [r.detectSeconds] : [])).sort((a, b) => a - b);
  const mid = detect.length / 2;
  return {
    releases: rows.length,
    agreements: count('agrees'),
    falseReverts: count('would-revert'),
    misses: count('would-miss'),
    earlier: count('earlier'),
    later: count('later'),
    unknown: count('unknown'),
    noData: count('no-data'),
    medianDetectSeconds: detect.length === 0 ? null : detect.length % 2 ? detect[Math.floor(mid)]! : (detect[mid - 1]! + detect[mid]!) / 2,
  };
}

/**
 * The change review of `--against`: what the candidate (`after`) does differently from the current rules
 * (`before`) on the same releases, in one sentence, e.g. "this change adds 1 false revert and catches 2 releases
 * 4m sooner". Counts are of releases whose verdict or detection moved.
 */
export function changeSummary(before: readonly Judged[], after: readonly Judged[], formatSeconds: (s: number) => string): string {
  const parts: string[] = [];
  let falseAdded = 0;
  let falseRemoved = 0;
  let caught = 0;
  let lost = 0;
  const sooner: number[] = [];
  const later: number[] = [];
  before.forEach((b, i) => {
    const a = after[i]!;
    if (a.verdict === 'would-revert' && b.verdict !== 'would-revert') falseAdded++;
    if (b.verdict === 'would-revert' && a.verdict !== 'would-revert') falseRemoved++;
    if (b.verdict === 'would-miss' && a.verdict !== 'would-miss') caught++;
    if (a.verdict === 'would-miss' && b.verdict !== 'would-miss') lost++;
    if (a.detectSeconds !== undefined && b.detectSeconds !== undefined && a.detectSeconds !== b.detectSeconds) (a.detectSeconds < b.detectSeconds ? sooner : later).push(Math.abs(a.detectSeconds - b.detectSeconds));
  });
  const n = (k: number, one: string, many = `${one}s`) => `${k} ${k === 1 ? one : many}`;
  const median = (xs: number[]) => [...xs].sort((x, y) => x - y)[Math.floor((xs.length - 1) / 2)]!;
  if (falseAdded) parts.push(`adds ${n(falseAdded, 'false revert')}`);
  if (falseRemoved) parts.push(`removes ${n(falseRemoved, 'false revert')}`);
  if (caught) parts.push(`catches ${n(caught, 'release')} the current rules miss`);
  if (lost) parts.push(`misses ${n(lost, 'release')} the current rules catch`);
  if (sooner.length) parts.push(`reverts ${n(sooner.length, 'release')} sooner (median ${formatSeconds(median(sooner))})`);
  if (later.length) parts.push(`reverts ${n(later.length, 'release')} later (median ${formatSeconds(median(later))})`);
  return parts.length ? `this change ${parts.join(', ')}` : 'this change decides every release as the current rules do';
}
