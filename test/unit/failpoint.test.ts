import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import { describe, expect, it } from 'vitest';
import { armedFailpoints, failpoint, FAILPOINTS } from '../../src/adapters/failpoint/failpoint.js';

describe('failpoints (ROLLBACK_GUARD_FAILPOINT)', () => {
  it.each([
    ['', []],
    ['after-patch', [{ name: 'after-patch' }]],
    ['after-decision-commit:rollback, after-send:pagerduty', [{ name: 'after-decision-commit', tag: 'rollback' }, { name: 'after-send', tag: 'pagerduty' }]],
  ])('reads %j', (spec, armed) => {
    expect(armedFailpoints({ ROLLBACK_GUARD_FAILPOINT: spec })).toEqual(armed);
  });

  it('refuses an unknown name, listing the known ones', () => {
    expect(() => armedFailpoints({ ROLLBACK_GUARD_FAILPOINT: 'after-pach' })).toThrow(/unknown failpoint "after-pach"; known points: mid-migration, /);
  });

  it('is inert when nothing is named (this process is still alive)', () => {
    failpoint('after-patch');
    expect(process.pid).toBeGreaterThan(0);
  });

  // A child process, so the kill is real: killed at the named point with the named tag, not at others.
  const run = (spec: string, calls: string) =>
    spawnSync(process.execPath, ['--import', 'tsx', '-e', `import { failpoint } from './src/adapters/failpoint/failpoint.ts'; ${calls}; console.log('survived');`], { env: { ...process.env, ROLLBACK_GUARD_FAILPOINT: spec }, encoding: 'utf8' });

  it('SIGKILLs the process at an armed point, after saying so on stderr', () => {
    const r = run('after-decision-commit:rollback', "failpoint('after-decision-commit', 'page'); failpoint('after-patch'); failpoint('after-decision-commit', 'promote', 'rollback')");
    expect(r.signal).toBe('SIGKILL');
    expect(r.stdout).toBe('');
    expect(r.stderr).toContain('failpoint after-decision-commit (promote, rollback) reached: SIGKILL');
    expect(run('after-decision-commit:rollback', "failpoint('after-decision-commit', 'page')").stdout).toBe('survived\n');
  });

  it('the README lists every failpoint with what it means', () => {
    const readme = fs.readFileSync('README.md', 'utf8');
    for (const [name, meaning] of Object.entries(FAILPOINTS)) expect(readme).toContain(`| \`${name}\` | ${meaning} |`);
  });
});
