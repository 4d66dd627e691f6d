import fs from 'node:fs';
import { expect, it } from 'vitest';
import { CANARY_BEFORE_RE, CANARY_TIMELINE_RE, canaryTimelines, demoTimeline, REFERENCE_RE, rulesReference, SETTINGS_RE, settingsRows, TIMELINE_RE } from '../fixtures/readme-blocks.js';

// If one of these fails: `npx tsx test/fixtures/readme-blocks.ts --write`, then read the diff.
const readme = fs.readFileSync('README.md', 'utf8');

it("the README's rules reference is the one generated from the schema", () => {
  expect(REFERENCE_RE.exec(readme)?.[1]).toBe(rulesReference());
});

it("the README's daemon configuration table lists exactly the settings the daemon reads", () => {
  expect(SETTINGS_RE.exec(readme)?.[1]).toBe(settingsRows());
});

it("the README's demo timeline is what the demo prints", async () => {
  expect(TIMELINE_RE.exec(readme)?.[1]).toBe(await demoTimeline());
});

it("the README's canary demo timelines (the shipped rules, and the rules before) are what the demo prints", async () => {
  const { now, before } = await canaryTimelines();
  expect(CANARY_TIMELINE_RE.exec(readme)?.[1]).toBe(now);
  expect(CANARY_BEFORE_RE.exec(readme)?.[1]).toBe(before);
});

it('the README has exactly the two set-up commands, and they are real scripts', () => {
  const setup = /## Set up[\s\S]*?```sh\n([\s\S]*?)```/.exec(readme)?.[1]?.trim().split('\n');
  expect(setup).toEqual(['npm ci && npm run demo', 'npm test']);
  const pkg = JSON.parse(fs.readFileSync('package.json', 'utf8')) as { scripts: Record<string, string> };
  expect(pkg.scripts.demo).toBeDefined();
  expect(pkg.scripts.test).toContain('vitest run');
  expect(fs.readFileSync('.ci/run', 'utf8')).toContain('npm test');
});
