// runDaemon in this process, for what a child process cannot time: an edit of the rules file while the daemon
// starts (before its file watch begins) is still taken.
import fs from 'node:fs';
import path from 'node:path';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { daemonConfig } from '../../src/daemon/daemon-config.js';
import { runDaemon } from '../../src/daemon/run-daemon.js';
import type { ReleaseSource } from '../../src/ports/release-source.js';
import { useTempDir } from '../helpers/temp-dir.js';

const tmp = useTempDir();

describe('runDaemon', () => {
  it('a rules file edited during start-up is reloaded once the daemon runs, not left unnoticed', async () => {
    const dir = tmp();
    const rules = path.join(dir, 'rules.yaml');
    const original = fs.readFileSync('rules/voice-server.yaml', 'utf8');
    fs.writeFileSync(rules, original);
    // The release source starts inside start-up, before the file watch: the edit lands in that gap.
    const releases: ReleaseSource = {
      start: () => Promise.resolve(void fs.writeFileSync(rules, original.replace('above: 0.05', 'above: 0.04'))),
      stop: () => Promise.resolve(),
    };
    const lines: { msg: string; why?: string }[] = [];
    const log = pino({ level: 'info' }, { write: (s: string) => void lines.push(JSON.parse(s) as { msg: string; why?: string }) });
    const config = daemonConfig({ rules: [rules], db: path.join(dir, 'd.db'), listen: '127.0.0.1:0' }, { url: 'http://127.0.0.1:9' }, {});
    const running = await runDaemon(config, { version: 'test', releases, log });
    try {
      expect(lines.filter((l) => l.msg === 'rules reloaded').map((l) => l.why)).toEqual([`${rules} changed during start-up`]);
    } finally {
      await running.shutdown('test');
    }
  });
});
