// The built CLI: `notify --test` against the stand-ins, and `approve` / `decline` against an approvals server.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { freePort } from '../helpers/free-port.js';
import { BIN } from '../helpers/run-cli.js';
import { PagerDutyStandIn } from '../helpers/pagerduty-stand-in.js';
import { approvalHandler } from '../../src/adapters/http-api/approval-handler.js';
import { ApprovalService } from '../../src/guard/approval-service.js';
import { PAGING_RULES, pagingWorld, ROUTING_KEYS, T0, type PagingWorld } from '../helpers/paging-fixture.js';
import { SlackStandIn } from '../helpers/slack-stand-in.js';
import { SmtpStandIn } from '../helpers/smtp-stand-in.js';
import { useTempDir } from '../helpers/temp-dir.js';

const tempDir = useTempDir();

/** Runs the built CLI without blocking this process (the stand-ins answer from it). */
function cliAsync(args: string[], env: Record<string, string>): Promise<{ code: number | null; stdout: string; stderr: string }> {
  if (!fs.existsSync('dist/cli/main.js')) throw new Error('dist/ is missing: run `npm run build` before the CLI tests');
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [BIN, ...args], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    child.on('exit', (code) => resolve({ code, stdout, stderr }));
  });
}

describe('notify --test (built CLI)', () => {
  let pd: PagerDutyStandIn;
  let slack: SlackStandIn;
  let rules: string;
  let env: Record<string, string>;

  beforeEach(async () => {
    pd = new PagerDutyStandIn();
    slack = new SlackStandIn();
    await pd.start();
    await slack.start();
    const dir = tempDir();
    rules = path.join(dir, 'rules.yaml');
    fs.writeFileSync(rules, PAGING_RULES.replace('  approvers:', `  pagerduty: { server: '127.0.0.1:${pd.port}' }\n  slack: { apiUrl: '${slack.apiUrl}' }\n  approvers:`));
    fs.writeFileSync(path.join(dir, 'ca.pem'), pd.cert);
    fs.writeFileSync(path.join(dir, 'slack-token'), slack.token + '\n');
    env = { PAGERDUTY_CA_FILE: path.join(dir, 'ca.pem'), SLACK_BOT_TOKEN_FILE: path.join(dir, 'slack-token'), PAGERDUTY_ROUTING_KEY_TECHLEAD: ROUTING_KEYS.TECHLEAD!, PAGERDUTY_ROUTING_KEY_ONCALL: 'short-key' };
  });
  afterEach(async () => {
    await pd.stop();
    await slack.stop();
  });

  it('sends a marked test message through each channel of the level and reports delivered', async () => {
    const r = await cliAsync(['notify', '--test', '--level', '2', '--rules', rules], env);
    expect(r.stderr).toBe('');
    expect(r.stdout).toBe('slack #voice-incidents: delivered\npagerduty TECHLEAD (level 2): delivered\n');
    expect(r.code).toBe(0);
    expect(slack.messages[0]!.text).toMatch(/^:test_tube: TEST from rollback-guard \(notify --test, level 2\) for voice-production\/voice-server at .*No action needed\. <@U0TECHLEAD>$/);
    expect(pd.accepted[0]!.payload).toMatchObject({ severity: 'info', summary: '[TEST] rollback-guard notify --test, level 2: no action needed' });
  });

  it('reports the exact error per channel, never the secret, and exits 1', async () => {
    slack.channels.delete('#voice-incidents');
    const r = await cliAsync(['notify', '--test', '--rules', rules], env);
    expect(r.stdout).toBe(
      'slack #voice-incidents: FAILED: Slack chat.postMessage to #voice-incidents: channel_not_found\n' +
        "pagerduty ONCALL (level 1): FAILED: PagerDuty rejected the trigger event (400): Event object is invalid: 'routing_key' must be a 32 character string\n",
    );
    expect(r.code).toBe(1);
    expect(r.stdout + r.stderr).not.toContain('short-key');
    const missing = await cliAsync(['notify', '--test', '--level', '3', '--rules', rules], { ...env, SLACK_BOT_TOKEN_FILE: '' });
    expect(missing.stdout).toContain('pagerduty MANAGER (level 3): FAILED: PAGERDUTY_ROUTING_KEY_MANAGER is not set; set it, or PAGERDUTY_ROUTING_KEY_MANAGER_FILE to a file holding it');
    expect(missing.code).toBe(1);
  });

  it('emails the recipients when `notifications.email` is set, and reports a refused login without the password', async () => {
    const smtp = new SmtpStandIn();
    await smtp.start();
    try {
      const dir = path.dirname(rules);
      fs.writeFileSync(path.join(dir, 'smtp-ca.pem'), smtp.cert);
      const email = `  email:\n    to: [stakeholders@example.com]\n    from: rollback-guard@example.com\n    smtp: { host: 127.0.0.1, port: ${smtp.port} }\n  approvers:`;
      fs.writeFileSync(rules, fs.readFileSync(rules, 'utf8').replace('  approvers:', email));
      const smtpEnv = { ...env, SMTP_USERNAME: smtp.user, SMTP_PASSWORD: smtp.pass, SMTP_CA_FILE: path.join(dir, 'smtp-ca.pem') };
      const r = await cliAsync(['notify', '--test', '--level', '2', '--rules', rules], smtpEnv);
      expect(r.stdout).toBe('slack #voice-incidents: delivered\npagerduty TECHLEAD (level 2): delivered\nemail stakeholders@example.com: delivered\n');
      expect(r.code).toBe(0);
      expect(smtp.mails).toMatchObject([{ rcpt: ['stakeholders@example.com'], subject: '[TEST] rollback-guard notify --test: voice-production/voice-server', secure: true }]);
      const wrong = await cliAsync(['notify', '--test', '--level', '2', '--rules', rules], { ...smtpEnv, SMTP_PASSWORD: 'not-the-password' });
      expect(wrong.stdout).toMatch(/^email stakeholders@example\.com: FAILED: SMTP 127\.0\.0\.1:\d+ AUTH PLAIN: 535 5\.7\.8 Authentication credentials invalid$/m);
      expect(wrong.stdout + wrong.stderr).not.toContain('not-the-password');
      expect(wrong.code).toBe(1);
    } finally {
      await smtp.stop();
    }
  });
});

describe('approve / decline (built CLI) against the real approval handler', () => {
  let server: http.Server;
  let url: string;
  let world: PagingWorld;
  let service: ApprovalService;
  let pageId: number;
  const acted: number[] = [];

  beforeEach(async () => {
    acted.length = 0;
    world = pagingWorld(tempDir());
    const at = T0 + 600_000;
    pageId = world.store.recordInstant(world.release.id, at, { rules: {} }, [], [{
      at, action: 'page', tier: 'considered', rule: 'ttfa-regression', level: 1, value: 0.8, threshold: 0.6, mode: 'enforce',
      evidence: { value: 0.8, threshold: 0.6, release: { startedAt: T0, severity: 'minor', windowEnd: T0 + 3_600_000 }, rulesHash: world.ruleset.hash },
    }])[0]!.id;
    service = new ApprovalService({ db: world.store.db, outbox: world.outbox, settings: () => world.ruleset.notifications, now: () => T0 + 1_200_000, act: (d) => { acted.push(d.id); return Promise.resolve({ ok: true, detail: 'rolled back' }); } });
    const handler = approvalHandler({ service, token: () => 'tok-1', isLeader: () => true, leader: () => undefined });
    server = http.createServer((req, res) => void handler(req, res).then((handled) => { if (!handled) res.writeHead(404).end(); }));
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterEach(async () => {
    await service.idle();
    await new Promise<void>((r) => server.close(() => r()));
    world.store.close();
  });

  it('approves with the bearer token from the environment, and reports a refusal with exit 2', async () => {
    const ok = await cliAsync(['approve', String(pageId), '--by', 'alice', '--reason', 'confirmed'], { ROLLBACK_GUARD_URL: url, ROLLBACK_GUARD_API_TOKEN: 'tok-1' });
    expect(ok).toEqual({ code: 0, stdout: `decision ${pageId} approved by alice at 2026-11-20T14:20:00Z; rollback done: rolled back\n`, stderr: '' });
    expect(acted).toEqual([pageId]);
    expect(world.store.db.prepare(`SELECT by, reason FROM approvals`).get()).toEqual({ by: 'alice', reason: 'confirmed' });
    const refused = await cliAsync(['decline', String(pageId), '--by', 'bob', '--url', url], { ROLLBACK_GUARD_API_TOKEN: 'tok-1' });
    expect(refused.code).toBe(2);
    expect(refused.stderr).toBe(`rollback-guard: decline refused (409): decision ${pageId} was already approved by alice at 2026-11-20T14:20:00.000Z; nothing was changed\n`);
    const badToken = await cliAsync(['decline', String(pageId), '--by', 'bob', '--url', url], { ROLLBACK_GUARD_API_TOKEN: 'wrong' });
    expect(badToken).toMatchObject({ code: 2, stderr: 'rollback-guard: decline refused (401): missing or wrong bearer token: send Authorization: Bearer <ROLLBACK_GUARD_API_TOKEN>\n' });
  });

  it('exit 2 with a clear message when the token or the daemon is missing', async () => {
    const noToken = await cliAsync(['approve', '41', '--by', 'alice', '--url', url], { ROLLBACK_GUARD_API_TOKEN: '' });
    expect(noToken).toMatchObject({ code: 2, stderr: 'rollback-guard: error: ROLLBACK_GUARD_API_TOKEN is not set; set it, or ROLLBACK_GUARD_API_TOKEN_FILE to a file holding it\n' });
    const closed = await freePort();
    const down = await cliAsync(['approve', '41', '--by', 'alice', '--url', `http://127.0.0.1:${closed}`], { ROLLBACK_GUARD_API_TOKEN: 'tok-1' });
    expect(down).toMatchObject({ code: 2, stderr: `rollback-guard: error: cannot reach the daemon at http://127.0.0.1:${closed}: ECONNREFUSED; check --url / ROLLBACK_GUARD_URL\n` });
    const malformed = await cliAsync(['approve', '41', '--by', 'alice', '--url', 'notaurl'], { ROLLBACK_GUARD_API_TOKEN: 'tok-1' });
    expect(malformed).toMatchObject({ code: 2, stderr: expect.stringContaining('rollback-guard: error: --url / ROLLBACK_GUARD_URL "notaurl" is not a URL') });
    const blocked = await cliAsync(['approve', '41', '--by', 'alice', '--url', 'http://127.0.0.1:6000'], { ROLLBACK_GUARD_API_TOKEN: 'tok-1' });
    expect(blocked).toMatchObject({ code: 2, stderr: expect.stringContaining("port 6000 is one that Node's fetch refuses to use") });
  });
});
