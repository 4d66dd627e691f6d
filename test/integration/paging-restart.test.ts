// Restart mid-retry: a delivery process is killed (SIGKILL) while a page waits for its retry, and a new one is
// started over the same decision log. The page is delivered exactly once, and a third start sends nothing.
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import type { Decision } from '../../src/core/engine.js';
import { planNotifications } from '../../src/core/notification-plan.js';
import { waitFor } from '../helpers/free-port.js';
import { PagerDutyStandIn } from '../helpers/pagerduty-stand-in.js';
import { pagingWorld, T0 } from '../helpers/paging-fixture.js';
import { SlackStandIn } from '../helpers/slack-stand-in.js';
import { useTempDir } from '../helpers/temp-dir.js';

const tempDir = useTempDir();
const children: ChildProcess[] = [];
afterEach(() => {
  for (const c of children.splice(0)) if (c.exitCode === null) c.kill('SIGKILL');
});

function startChild(env: Record<string, string>): { child: ChildProcess; exited: Promise<{ code: number | null; out: string; err: string }> } {
  const child = spawn(process.execPath, ['--import', 'tsx', 'test/helpers/outbox-worker-child.ts'], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  children.push(child);
  let out = '';
  let err = '';
  child.stdout.on('data', (c: Buffer) => (out += c.toString()));
  child.stderr.on('data', (c: Buffer) => (err += c.toString()));
  const exited = new Promise<{ code: number | null; out: string; err: string }>((resolve) => child.on('exit', (code) => resolve({ code, out, err })));
  return { child, exited };
}

describe('restart of the delivery process mid-retry', () => {
  it('delivers the page exactly once across a SIGKILL and two restarts', { timeout: 60_000 }, async () => {
    const pd = new PagerDutyStandIn();
    const slack = new SlackStandIn();
    await pd.start();
    await slack.start();
    try {
      const dir = tempDir();
      const world = pagingWorld(dir);
      const at = Date.now();
      const d: Decision = {
        at, action: 'page', tier: 'considered', rule: 'ttfa-regression', level: 1, value: 0.8, threshold: 0.6, mode: 'enforce',
        evidence: { value: 0.8, threshold: 0.6, release: { startedAt: T0, severity: 'minor', windowEnd: T0 + 3_600_000 }, rulesHash: world.ruleset.hash },
      };
      const [stored] = world.store.recordInstant(world.release.id, at, { rules: {} }, [], [d]);
      world.outbox.enqueue(planNotifications(world.ruleset.notifications, world.release, { kind: 'decision', decision: stored! }), world.release.id, at);
      world.store.close();
      const caFile = path.join(dir, 'ca.pem');
      fs.writeFileSync(caFile, pd.cert);
      const env = { DB: path.join(dir, 'decisions.db'), PD_PORT: String(pd.port), PD_CA_FILE: caFile, SLACK_URL: slack.apiUrl, SLACK_TOKEN: slack.token };

      // First process: both services answer 503, and the retry is a minute away. Kill it while it waits.
      pd.failNext({ status: 503 });
      slack.failNext({ status: 503 });
      const first = startChild({ ...env, BACKOFF_MS: '60000' });
      const db = new Database(env.DB, { readonly: true });
      const attempts = () => db.prepare(`SELECT channel, status, attempts FROM outbox ORDER BY id`).all() as { channel: string; status: string; attempts: number }[];
      await waitFor('both notifications to have failed once', () => attempts().every((r) => r.attempts === 1 && r.status === 'pending'));
      first.child.kill('SIGKILL');
      await first.exited;
      expect(pd.accepted).toHaveLength(0);
      expect(slack.messages).toHaveLength(0);

      // Second process, its clock past the retry time: delivers both, once.
      const second = startChild({ ...env, CLOCK_OFFSET_MS: '61000' });
      const r2 = await second.exited;
      expect(r2.err).toBe('');
      expect(r2.code).toBe(0);
      expect(pd.accepted).toHaveLength(1);
      expect(slack.messages).toHaveLength(1);
      expect(attempts()).toEqual([
        { channel: 'slack', status: 'delivered', attempts: 2 },
        { channel: 'pagerduty', status: 'delivered', attempts: 2 },
      ]);
      expect(db.prepare(`SELECT slack_ts FROM outbox WHERE channel = 'slack'`).pluck().get()).toBe(slack.messages[0]!.ts);

      // Third process: nothing left to send.
      const r3 = await startChild({ ...env, CLOCK_OFFSET_MS: '61000' }).exited;
      expect(r3.code).toBe(0);
      expect(JSON.parse(r3.out.trim().split('\n').at(-1)!)).toEqual({ done: { depth: 0, dead: 0, unreported: 0 } });
      expect(pd.received).toHaveLength(2); // the 503 and the delivery, nothing more
      expect(slack.calls.map((c) => c.method)).toEqual(['chat.postMessage', 'chat.postMessage']);
      db.close();
    } finally {
      await pd.stop();
      await slack.stop();
    }
  });
});
