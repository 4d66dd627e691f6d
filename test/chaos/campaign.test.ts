// The fault campaign, bounded for `npm test`: a fixed seed (CHAOS_SEED to try another), a handful of releases.
// Soak with `npm run chaos -- --seed S --minutes M`.
import { expect, it } from 'vitest';
import { useTempDir } from '../helpers/temp-dir.js';
import { runCampaign, summaryLine } from './campaign.js';

const tmp = useTempDir();
const SEED = Number(process.env.CHAOS_SEED ?? 20261207);

it(`a seeded fault campaign (seed ${SEED}): nothing wrong, nothing twice, nothing lost, nothing leaked`, async () => {
  // 7 releases x 4 faults draw the whole catalogue (a shuffled deck: every kind before any twice), plus a SIGKILL of
  // the leader every third release.
  const r = await runCampaign({ seed: SEED, dir: tmp(), releases: 7, faultsPerRelease: 4, minutes: 15 });
  console.log(summaryLine(r));
  expect(r.releases).toBe(7);
  const injected = new Set(r.injected.map((f) => f.replace(/^(release \d+ \((failing|healthy)\)|start): /, '')));
  expect([...injected].sort()).toEqual([...r.catalogue].sort());
  // Both paths ran under the faults, and the leader was SIGKILLed (every third release) and came back.
  expect(r.injected.filter((f) => f.endsWith('SIGKILL of the leader')).length).toBeGreaterThanOrEqual(2);
  expect(r.reverted, r.injected.join('\n')).toBeGreaterThanOrEqual(1);
  expect(r.kept).toBeGreaterThanOrEqual(1);
  expect({ line: summaryLine(r), findings: r.findings }, r.injected.join('\n')).toEqual({ line: `chaos: seed ${SEED}, 7 releases, ${r.faults} faults, 0 wrong rollbacks, 0 duplicate rollbacks, 0 lost notifications, 0 secrets leaked`, findings: [] });
}, 600_000);
