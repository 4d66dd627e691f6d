// `npm run bench` (backtest): a month of 50 releases of voice-server backfilled into a real Prometheus with promtool
// (each an hour before and its hour-long window; ten of them go bad), then `rollback-guard backtest` of the shipped
// rules over them, through the built CLI. Prints the command's own summary and its line
// `backtest: N releases, X s, Y queries` (target: under 30 s here). Figures only; nothing is asserted.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { disposePrometheus, startPrometheus } from '../helpers/prometheus-server.js';
import { HEALTHY, joinOpenMetrics, voiceServerOpenMetrics } from '../fixtures/voice-server-openmetrics.js';

const RELEASES = 50;
const HOUR = 3600;
// Whole hours, the last window ending an hour before now: backfilled data must not reach past now.
const end = Math.floor(Date.now() / 1000 / HOUR) * HOUR - HOUR;
const spacing = Math.floor((30 * 24 * HOUR) / RELEASES / 60) * 60;
const releases = Array.from({ length: RELEASES }, (_, i) => {
  const at = end - HOUR - (RELEASES - 1 - i) * spacing;
  const bad = i % 5 === 2;
  return { at, bad };
});
const docs = releases.map(({ at, bad }) => voiceServerOpenMetrics(at - HOUR, at + HOUR, [{ at: at - HOUR, ...HEALTHY }, ...(bad ? [{ at: at + 10 * 60, ...HEALTHY, errorRatio: 0.08 }] : [])]));
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rollback-guard-backtest-bench-'));
let t = performance.now();
const prom = await startPrometheus({ openMetrics: joinOpenMetrics(docs) });
console.log(`backfilled ${RELEASES} releases (2 h each) over 30 days into Prometheus with promtool: ${((performance.now() - t) / 1000).toFixed(1)} s`);
try {
  const list = path.join(dir, 'releases.json');
  fs.writeFileSync(list, JSON.stringify(releases.map(({ at, bad }) => ({ target: 'voice-production/voice-server', start: new Date(at * 1000).toISOString(), known: bad ? 'reverted' : 'kept' }))));
  t = performance.now();
  const r = spawnSync(process.execPath, ['bin/rollback-guard.js', 'backtest', '--rules', 'rules/voice-server.yaml', '--prometheus', prom.url, '--releases', list, '--since', '31d'], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`backtest exited ${r.status}: ${r.stderr}`);
  const lines = r.stdout.trimEnd().split('\n');
  console.log(lines.slice(-2).join('\n'));
  console.log(`backtest wall time, process included: ${((performance.now() - t) / 1000).toFixed(1)} s (target < 30 s)`);
} finally {
  await disposePrometheus(prom);
  fs.rmSync(dir, { recursive: true, force: true });
}
