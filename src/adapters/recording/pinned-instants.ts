// A metric source with some answers pinned: a query at one exact instant answered as it was read then, everything
// else from the underlying source. Replay reads its data as range queries on the evaluation grid, but a release
// starts off the grid and its baselines are read at that exact instant (as the daemon reads them): those few
// instant readings are pinned here.
import type { QueryOutcome, RangeOutcome } from '../../core/query-outcome.js';
import type { MetricSource } from '../../ports/metric-source.js';

export class PinnedInstants implements MetricSource {
  private readonly pins = new Map<string, QueryOutcome>();

  constructor(private readonly source: MetricSource) {}

  pin(query: string, at: number, outcome: QueryOutcome): void {
    this.pins.set(`${at} ${query}`, outcome);
  }

  instant(query: string, at: number): Promise<QueryOutcome> {
    return this.pins.has(`${at} ${query}`) ? Promise.resolve(this.pins.get(`${at} ${query}`)!) : this.source.instant(query, at);
  }

  range(query: string, start: number, end: number, stepMs: number): Promise<RangeOutcome> {
    return this.source.range ? this.source.range(query, start, end, stepMs) : Promise.resolve({ kind: 'error', error: 'this metric source cannot read a window of samples' });
  }
}
