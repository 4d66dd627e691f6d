// Drives the pure engine over a script of query results at explicit timestamps (seconds after the release).
import { initialState, step, type Decision, type Evaluation, type Observation, type ReleaseState } from '../../src/core/engine.js';
import { parseRules } from '../../src/core/parse-rules.js';
import type { QueryOutcome, RangeOutcome, ScalarReading } from '../../src/core/query-outcome.js';
import type { Ruleset } from '../../src/core/ruleset.js';

export const T0 = Date.parse('2026-11-20T14:00:00Z');

/** number: one unlabelled series; null: empty; 'err': query error; list: several labelled series. */
export type Cell = number | null | 'err' | [Record<string, string>, number][];
/** Rule name (or `name:when` for its traffic floor) -> seconds after the release -> value from then on. */
export type Script = Record<string, Record<number, Cell>>;

export function rules(body: string, header = ''): Ruleset {
  return parseRules(`version: 1\ntarget: { namespace: ns, deployment: app }\n${header}rules:\n${body}`, 'test.yaml');
}

function cellToOutcome(cell: Cell): QueryOutcome {
  if (cell === null) return { kind: 'empty' };
  if (cell === 'err') return { kind: 'error', error: 'connection refused' };
  if (typeof cell === 'number') return { kind: 'series', series: [{ labels: {}, value: cell }] };
  return { kind: 'series', series: cell.map(([labels, value]) => ({ labels, value })) };
}

/** The script's value at `t`: the last cell at or before t (a step function), or an error when none. */
function at(script: Record<number, Cell> | undefined, t: number): QueryOutcome {
  if (!script) return { kind: 'error', error: 'not scripted' };
  let best: number | undefined;
  for (const k of Object.keys(script).map(Number)) if (k <= t && (best === undefined || k > best)) best = k;
  return best === undefined ? { kind: 'error', error: 'not scripted yet' } : cellToOutcome(script[best]!);
}

export interface RunOptions {
  severity?: 'hotfix' | 'minor' | 'major' | 'infrastructure';
  windowS?: number;
  baselines?: Record<string, ScalarReading>;
  untilS: number;
  stepS?: number;
  /** Seconds at which a manual considered trigger pages (level 1), as the daemon's `trigger` does. */
  manualPagesS?: number[];
  /** A judge rule's samples at `t` seconds, by `canary:<metric>` / `stable:<metric>`. */
  samples?: (t: number) => Record<string, RangeOutcome>;
}

export interface RunResult {
  decisions: Decision[];
  evaluations: Evaluation[];
  state: ReleaseState;
  /** Compact view for tables: [seconds, action, rule, level?, mode?] */
  summary: (string | number)[][];
}

export function run(ruleset: Ruleset, script: Script, o: RunOptions): RunResult {
  const severity = o.severity ?? 'minor';
  const release = { startedAt: T0, severity, windowMs: o.windowS !== undefined ? o.windowS * 1000 : ruleset.windowsMs[severity] };
  const ctx = { ruleset, release, baselines: o.baselines ?? {} };
  let state = initialState(ruleset);
  const decisions: Decision[] = [];
  const evaluations: Evaluation[] = [];
  for (let t = 0; t <= o.untilS; t += o.stepS ?? 15) {
    const obs = new Map<string, Observation>();
    for (const r of ruleset.rules) {
      const value = at(script[r.name], t);
      const o2: Observation = r.when ? { value, guard: at(script[`${r.name}:when`], t) } : { value };
      // A burn-rate pair's short window is scripted as `<rule>:short`; a judge's samples come from `o.samples`.
      if (r.kind === 'burn-rate') o2.short = at(script[`${r.name}:short`], t);
      if (r.kind === 'judge') o2.samples = o.samples?.(t) ?? {};
      obs.set(r.name, o2);
    }
    if (o.manualPagesS?.includes(t)) state = { ...state, manual: [...(state.manual ?? []), { level: 1, pagedAt: T0 + t * 1000 }] };
    const frozen = deepFreeze(structuredClone(state));
    const res = step(ctx, frozen, T0 + t * 1000, obs);
    state = res.state;
    decisions.push(...res.decisions);
    evaluations.push(...res.evaluations);
  }
  const summary = decisions.map((d) => {
    const row: (string | number)[] = [(d.at - T0) / 1000, d.action, d.rule ?? '-'];
    if (d.level !== undefined) row.push(d.level);
    if (d.mode !== 'enforce') row.push(d.mode);
    return row;
  });
  return { decisions, evaluations, state, summary };
}

/** The engine must never mutate the state it is given (it is persisted and may be replayed). */
function deepFreeze<T>(o: T): T {
  if (o && typeof o === 'object') {
    Object.freeze(o);
    for (const v of Object.values(o)) deepFreeze(v);
  }
  return o;
}
