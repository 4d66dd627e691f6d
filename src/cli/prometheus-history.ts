// Prometheus's history of one release, as replay and backtest read it: every query of the (bound) rules as range
// queries on the daemon's grid (multiples of the step, as of each instant less `evaluationOffset`), held in memory as
// a recording, with the baselines read as the daemon reads them: one instant query at the release start.
import { PinnedInstants } from '../adapters/recording/pinned-instants.js';
import { RecordingSource } from '../adapters/recording/recording-source.js';
import type { PrometheusClient } from '../adapters/prometheus/prometheus-client.js';
import { PrometheusSource } from '../adapters/prometheus/prometheus-source.js';
import { recordRange } from '../adapters/prometheus/record-range.js';
import { gridStart } from '../core/interval-grid.js';
import { MemoryDecisionStore } from '../adapters/memory/memory-decision-store.js';
import { bindRuleset } from '../core/bind-ruleset.js';
import type { Release } from '../core/release.js';
import { lookbackMs, rulesetQueries } from '../core/rule-parts.js';
import type { Ruleset } from '../core/ruleset.js';
import { replay, type ReplayResult } from '../guard/replay.js';
import type { StableTarget } from '../ports/decision-store.js';

export interface ReleaseHistory {
  source: RecordingSource;
  pinned: PinnedInstants;
  warnings: string[];
  /** Range queries sent (one per distinct query) plus the baselines' instant queries. */
  queries: number;
}

export async function readReleaseHistory(client: PrometheusClient, ruleset: Ruleset, releaseAt: number, from: number, to: number, stepMs: number): Promise<ReleaseHistory> {
  const offset = ruleset.evaluationOffsetMs;
  // A judge rule's first instant reads samples from a window before it.
  const range = { start: gridStart(from, stepMs) - offset - lookbackMs(ruleset.rules), end: to - offset };
  const queries = rulesetQueries(ruleset);
  const { recording, warnings } = await recordRange(client, queries, range.start, range.end, stepMs);
  const source = RecordingSource.fromData(recording, client.baseUrl, range);
  const pinned = new PinnedInstants(source);
  const live = new PrometheusSource(client);
  await Promise.all(ruleset.baselines.map(async (b) => pinned.pin(b.query, releaseAt - offset, await live.instant(b.query, releaseAt - offset))));
  return { source, pinned, warnings, queries: new Set(queries.map((q) => q.query)).size + ruleset.baselines.length };
}

/**
 * One release replayed from Prometheus's history into memory, as `replay --prometheus` replays it: the rules bound
 * for `target`, its history read on the rules' grid up to `until`, then the same tick. For `backtest` and `test`.
 */
export async function replayFromPrometheus(
  client: PrometheusClient,
  file: Ruleset,
  o: { target: { namespace: string; deployment: string }; selector?: Record<string, string>; stable?: StableTarget; release: Release; until: number; sourceName: string },
): Promise<{ history: ReleaseHistory; result: ReplayResult }> {
  const bound = bindRuleset(file, { ...o.target, ...(o.selector ? { selector: o.selector } : {}), ...(o.stable ? { stable: o.stable } : {}) });
  const history = await readReleaseHistory(client, bound, o.release.startedAt, o.release.startedAt, o.until, file.intervalMs);
  const result = await replay({
    ruleset: file,
    release: o.release,
    target: o.target,
    ...(o.selector ? { selector: o.selector } : {}),
    ...(o.stable ? { stable: o.stable } : {}),
    source: history.pinned,
    store: new MemoryDecisionStore(),
    sourceName: o.sourceName,
    stepMs: file.intervalMs,
    until: o.until,
  });
  return { history, result };
}
