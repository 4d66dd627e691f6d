// Prometheus's history of one release, as replay and backtest read it: every query of the (bound) rules as range
// queries on the daemon's grid (multiples of the step, as of each instant less `evaluationOffset`), held in memory as
// a recording, with the baselines read as the daemon reads them: one instant query at the release start.
import { PinnedInstants } from '../adapters/recording/pinned-instants.js';
import { RecordingSource } from '../adapters/recording/recording-source.js';
import type { PrometheusClient } from '../adapters/prometheus/prometheus-client.js';
import { PrometheusSource } from '../adapters/prometheus/prometheus-source.js';
import { recordRange } from '../adapters/prometheus/record-range.js';
import { gridStart } from '../core/interval-grid.js';
import { rulesetQueries, type Ruleset } from '../core/ruleset.js';

export interface ReleaseHistory {
  source: RecordingSource;
  pinned: PinnedInstants;
  warnings: string[];
  /** Range queries sent (one per distinct query) plus the baselines' instant queries. */
  queries: number;
}

export async function readReleaseHistory(client: PrometheusClient, ruleset: Ruleset, releaseAt: number, from: number, to: number, stepMs: number): Promise<ReleaseHistory> {
  const offset = ruleset.evaluationOffsetMs;
  const range = { start: gridStart(from, stepMs) - offset, end: to - offset };
  const queries = rulesetQueries(ruleset);
  const { recording, warnings } = await recordRange(client, queries, range.start, range.end, stepMs);
  const source = RecordingSource.fromData(recording, client.baseUrl, range);
  const pinned = new PinnedInstants(source);
  const live = new PrometheusSource(client);
  await Promise.all(ruleset.baselines.map(async (b) => pinned.pin(b.query, releaseAt - offset, await live.instant(b.query, releaseAt - offset))));
  return { source, pinned, warnings, queries: new Set(queries.map((q) => q.query)).size + ruleset.baselines.length };
}
