// The fault campaign, bounded for `npm test`: a fixed seed (CHAOS_SEED to try another), a handful of releases.
// Soak with `npm run chaos -- --seed S --minutes M`.
import { expect, it } from 'vitest';
import { useTempDir } from '../helpers/temp-dir.js';
import { runCampaign, summaryLine } from './campaign.js';

const tmp = useTempDir();
const SEED = Number(process.env.CHAOS_SEED ?? 20261207);

it(`a seeded fault campaign (seed ${SEED}): nothing wrong, nothing twice, nothing lost, nothing leaked`, async () => {
  const r = await runCampaign({ seed: SEED, dir: tmp(), releases: 6, minutes: 6 });
  console.log(summaryLine(r));
  expect(r.releases).toBe(6);
  expect(r.faults).toBeGreaterThanOrEqual(6);
  // Both paths ran under the faults, and the daemon was SIGKILLed (every third release) and came back.
  expect(r.injected.filter((f) => f.endsWith('SIGKILL of the daemon')).length).toBeGreaterThanOrEqual(2);
  expect(r.reverted, r.injected.join('\n')).toBeGreaterThanOrEqual(1);
  expect(r.kept).toBeGreaterThanOrEqual(1);
  expect({ line: summaryLine(r), findings: r.findings }, r.injected.join('\n')).toEqual({ line: `chaos: seed ${SEED}, 6 releases, ${r.faults} faults, 0 wrong rollbacks, 0 duplicate rollbacks, 0 lost notifications, 0 secrets leaked`, findings: [] });
}, 600_000);
