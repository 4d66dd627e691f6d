import fs from 'node:fs';
import { expect, it } from 'vitest';
import { badReleaseRecording } from '../fixtures/generate-bad-release.js';
import { canaryReleaseRecording } from '../fixtures/generate-canary-release.js';

it('examples/bad-release/recording.json is what its generator makes from the shipped rules (no drift)', () => {
  const committed = fs.readFileSync('examples/bad-release/recording.json', 'utf8');
  expect(committed).toBe(JSON.stringify(badReleaseRecording()) + '\n');
});

it('examples/canary-release/recording.json is what its generator makes from the shipped and the old rules (no drift)', () => {
  const committed = fs.readFileSync('examples/canary-release/recording.json', 'utf8');
  expect(committed).toBe(JSON.stringify(canaryReleaseRecording()) + '\n');
});
