// runDaemon in this process, for what a child process cannot time: an edit of the rules file while the daemon
// starts (before its file watch begins) is still taken; a shutdown while an approved rollback is being patched
// still records and announces its verification.
import { shippedRules } from '../helpers/shipped-rules.js';
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { openDecisionLog } from '../../src/adapters/sqlite/sqlite-decision-store.js';
import { daemonConfig } from '../../src/daemon/daemon-config.js';
import type { GuardEvent } from '../../src/daemon/guard-events.js';
import { runDaemon } from '../../src/daemon/run-daemon.js';
import type { Actuator } from '../../src/ports/actuator.js';
import type { ObservedRelease, ReleaseSource } from '../../src/ports/release-source.js';
import { useTempDir } from '../helpers/temp-dir.js';

const tmp = useTempDir();
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A Prometheus stand-in answering every query with an empty vector, for the test's duration. */
async function withEmptyPrometheus(body: (url: string) => Promise<void>): Promise<void> {
  const prom = http.createServer((_q, res) => res.writeHead(200, { 'content-type': 'application/json' }).end('{"status":"success","data":{"resultType":"vector","result":[]}}'));
  await new Promise<void>((r) => prom.listen(0, '127.0.0.1', r));
  try {
    await body(`http://127.0.0.1:${(prom.address() as AddressInfo).port}`);
  } finally {
    prom.close();
  }
}

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

  it('SIGTERM while an approved rollback is being patched: its verification is still recorded and announced before the log closes', async () => {
    await withEmptyPrometheus(async (promUrl) => {
      const dir = tmp();
      const rules = path.join(dir, 'rules.yaml');
      fs.copyFileSync('rules/voice-server.yaml', rules);
      let emit!: (r: ObservedRelease) => void | Promise<void>;
      const releases: ReleaseSource = { start: (on) => Promise.resolve(void (emit = on)), stop: () => Promise.resolve() };
      const actuator: Actuator = {
        rollback: async () => (await sleep(300), { kind: 'rolled-back', fromRevision: '7', toRevision: '6', images: ['voice-server:1.4.1'] }),
        verifyRollout: async () => (await sleep(500), { kind: 'complete', detail: '3/3 updated and available' }),
      };
      const events: GuardEvent[] = [];
      const db = path.join(dir, 'd.db');
      const env = { ROLLBACK_GUARD_API_TOKEN: 'tok' };
      const config = daemonConfig({ rules: [rules], db, listen: '127.0.0.1:0' }, { url: promUrl }, env);
      const running = await runDaemon(config, { version: 'test', releases, actuator, events: { emit: (e) => void events.push(e) }, log: pino({ level: 'silent' }), env });
      await emit({ namespace: 'voice-production', deployment: 'voice-server', revision: '7', images: ['voice-server:1.5.0'], severity: 'minor', startedAt: Date.now(), kind: 'release', adopted: false });
      const page = await running.daemon.trigger({ namespace: 'voice-production', deployment: 'voice-server', tier: 'considered', reason: 'user complaints', by: 'alice' });
      const approval = fetch(`${running.url}/v1/decisions/${page.id}/approve`, { method: 'POST', headers: { authorization: 'Bearer tok', 'content-type': 'application/json' }, body: JSON.stringify({ by: 'bob' }) });
      await sleep(50); // the patch is in flight
      await running.shutdown('SIGTERM');
      const answer = await approval;
      expect(answer.status, await answer.clone().text()).toBe(200);
      const after = openDecisionLog(db);
      try {
        expect(after.db.prepare(`SELECT outcome, verification FROM rollbacks`).all()).toEqual([{ outcome: 'rolled-back', verification: 'rollback-complete' }]);
      } finally {
        after.close();
      }
      expect(events.map((e) => e.kind)).toContain('rollback-finished');
    });
  });

  it('an approval arriving while the shutdown waits for a rollout is refused (503), never patched unrecorded', async () => {
    await withEmptyPrometheus(async (promUrl) => {
      const dir = tmp();
      const a = path.join(dir, 'a.yaml');
      const b = path.join(dir, 'b.yaml');
      fs.writeFileSync(a, shippedRules());
      fs.writeFileSync(b, shippedRules('voice-edge'));
      let emit!: (r: ObservedRelease) => void | Promise<void>;
      const releases: ReleaseSource = { start: (on) => Promise.resolve(void (emit = on)), stop: () => Promise.resolve() };
      const patched: string[] = [];
      const actuator: Actuator = {
        rollback: (req) => (patched.push(req.deployment), Promise.resolve({ kind: 'rolled-back', fromRevision: '7', toRevision: '6', images: ['voice-server:1.4.1'] })),
        verifyRollout: async () => (await sleep(1000), { kind: 'complete', detail: '3/3 updated and available' }),
      };
      const db = path.join(dir, 'd.db');
      const env = { ROLLBACK_GUARD_API_TOKEN: 'tok' };
      const config = daemonConfig({ rules: [a, b], db, listen: '127.0.0.1:0' }, { url: promUrl }, env);
      const running = await runDaemon(config, { version: 'test', releases, actuator, log: pino({ level: 'silent' }), env });
      for (const deployment of ['voice-server', 'voice-edge']) await emit({ namespace: 'voice-production', deployment, revision: '7', images: ['voice-server:1.5.0'], severity: 'minor', startedAt: Date.now(), kind: 'release', adopted: false });
      await running.daemon.trigger({ namespace: 'voice-production', deployment: 'voice-server', tier: 'immediate', reason: 'CVE-2026-1234', by: 'alice' }); // its rollout: verified for 1 s
      const page = await running.daemon.trigger({ namespace: 'voice-production', deployment: 'voice-edge', tier: 'considered', reason: 'user complaints', by: 'alice' });
      const stopping = running.shutdown('SIGTERM');
      await sleep(100); // the shutdown now waits for voice-server's rollout
      const approval = await fetch(`${running.url}/v1/decisions/${page.id}/approve`, { method: 'POST', headers: { authorization: 'Bearer tok', 'content-type': 'application/json' }, body: JSON.stringify({ by: 'bob' }) });
      expect(approval.status).toBe(503);
      await stopping;
      const after = openDecisionLog(db);
      try {
        expect({ patched, recorded: after.db.prepare(`SELECT deployment FROM rollbacks ORDER BY id`).pluck().all() }).toEqual({ patched: ['voice-server'], recorded: ['voice-server'] });
        expect(after.db.prepare(`SELECT count(*) FROM approvals`).pluck().get()).toBe(0);
      } finally {
        after.close();
      }
    });
  });
});
