// Event-loop delay gauges under prom-client's default names (`nodejs_eventloop_lag_{min,max,mean,stddev,p50,p90,
// p99}_seconds`), sampled every 100 ms instead of prom-client's 10 ms, and with the sampling period taken out.
// Node's monitorEventLoopDelay records the whole time between its timer's firings, so a loop at rest reads the
// resolution itself (0.010 s with prom-client's default; 0.100 s here if left in). Sampling every 10 ms woke the
// process 100 times a second, 1.2 % of a CPU on these machines (ADR 0009).
import { monitorEventLoopDelay, type IntervalHistogram } from 'node:perf_hooks';
import client from 'prom-client';

/** How often the loop's delay is sampled, ms. */
const EVENT_LOOP_SAMPLE_MS = 100;

/**
 * What to pass prom-client's collectDefaultMetrics as `eventLoopMonitoringPrecision` so that its own sampler never
 * fires (about 24 days: the largest timer); its gauges are replaced by `registerEventLoopDelay`.
 */
export const DEFAULT_SAMPLER_OFF_MS = 2 ** 31 - 1;

const STATS: readonly [string, string, (h: IntervalHistogram) => number][] = [
  ['min', 'The minimum recorded event loop delay', (h) => h.min],
  ['max', 'The maximum recorded event loop delay', (h) => h.max],
  ['mean', 'The mean of the recorded event loop delays', (h) => h.mean],
  ['p50', 'The 50th percentile of the recorded event loop delays', (h) => h.percentile(50)],
  ['p90', 'The 90th percentile of the recorded event loop delays', (h) => h.percentile(90)],
  ['p99', 'The 99th percentile of the recorded event loop delays', (h) => h.percentile(99)],
];

/** Replaces collectDefaultMetrics' event-loop delay gauges in `registry` with ours. Returns a stop function. */
export function registerEventLoopDelay(registry: client.Registry, prefix: string): () => void {
  const histogram = monitorEventLoopDelay({ resolution: EVENT_LOOP_SAMPLE_MS });
  histogram.enable();
  const beyond = (ns: number) => Math.max(0, ns - EVENT_LOOP_SAMPLE_MS * 1e6) / 1e9;
  const name = (stat: string) => `${prefix}nodejs_eventloop_lag_${stat}_seconds`;
  for (const stat of [...STATS.map(([s]) => s), 'stddev']) registry.removeSingleMetric(name(stat));
  // The first gauge's collect sets them all from one window, then starts the next (as prom-client does).
  const collect = () => {
    if (histogram.count === 0) return; // no sample since the last scrape: keep the last values
    STATS.forEach(([, , read], i) => gauges[i]!.set(beyond(read(histogram))));
    stddev.set(histogram.stddev / 1e9);
    histogram.reset();
  };
  const gauges = STATS.map(
    ([stat, what], i) =>
      new client.Gauge({ name: name(stat), help: `${what}, beyond the ${EVENT_LOOP_SAMPLE_MS} ms sampling period.`, registers: [registry], ...(i === 0 ? { collect } : {}) }),
  );
  const stddev = new client.Gauge({ name: name('stddev'), help: 'The standard deviation of the recorded event loop delays.', registers: [registry] });
  return () => histogram.disable();
}
