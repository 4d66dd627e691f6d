// createPaging: the pieces composed as the daemon uses them, with secrets from the environment.
import http from 'node:http';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { slackSignature } from '../../src/adapters/http-api/slack-interactions-handler.js';
import { createPaging, type Paging } from '../../src/guard/paging.js';
import { PagerDutyStandIn } from '../helpers/pagerduty-stand-in.js';
import { pagingRuleset, pagingWorld, PAGING_RULES, ROUTING_KEYS, T0, type PagingWorld } from '../helpers/paging-fixture.js';
import { SlackStandIn } from '../helpers/slack-stand-in.js';
import { useTempDir } from '../helpers/temp-dir.js';

const tempDir = useTempDir();

describe('createPaging', () => {
  let pd: PagerDutyStandIn;
  let slack: SlackStandIn;
  let world: PagingWorld;
  let paging: Paging;
  let server: http.Server;

  beforeEach(async () => {
    pd = new PagerDutyStandIn();
    slack = new SlackStandIn();
    await pd.start();
    await slack.start();
    const ruleset = pagingRuleset(PAGING_RULES.replace('  approvers:', `  pagerduty: { server: '127.0.0.1:${pd.port}' }\n  slack: { apiUrl: '${slack.apiUrl}' }\n  approvers:`));
    world = pagingWorld(tempDir(), ruleset);
    paging = createPaging({
      db: world.store.db, settingsFor: () => ruleset.notifications, now: () => T0 + 600_000, act: () => Promise.resolve({ ok: true, detail: 'rolled back' }), isLeader: () => true, leader: () => undefined,
      env: { PAGERDUTY_ROUTING_KEY_ONCALL: ROUTING_KEYS.ONCALL, SLACK_BOT_TOKEN: slack.token, ROLLBACK_GUARD_API_TOKEN: 'tok' },
      pagerdutyAgent: new https.Agent({ ca: pd.cert }),
    });
    server = http.createServer((req, res) => void (async () => {
      for (const h of paging.handlers) if (await h(req, res)) return;
      res.writeHead(404).end();
    })());
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  });
  afterEach(async () => {
    await paging.approvals.idle();
    await new Promise((r) => server.close(r));
    world.store.close();
    await pd.stop();
    await slack.stop();
  });

  it('notifies, delivers, and approves through the mounted handlers', async () => {
    const at = T0 + 600_000;
    const [d] = world.store.recordInstant(world.release.id, at, { rules: {} }, [], [{
      at, action: 'page', tier: 'considered', rule: 'ttfa-regression', level: 1, value: 0.8, threshold: 0.6, mode: 'enforce',
      evidence: { value: 0.8, threshold: 0.6, release: { startedAt: T0, severity: 'minor', windowEnd: T0 + 3_600_000 }, rulesHash: world.ruleset.hash },
    }]);
    expect(paging.notify(world.release, { kind: 'decision', decision: d! })).toBe(2);
    expect(await paging.worker.runOnce()).toEqual({ delivered: 2, retried: 0, dead: 0 });
    const res = await fetch(`http://127.0.0.1:${(server.address() as AddressInfo).port}/v1/decisions/${d!.id}/approve`, { method: 'POST', headers: { authorization: 'Bearer tok' }, body: JSON.stringify({ by: 'alice' }) });
    expect(res.status).toBe(200);
    expect(await paging.worker.runOnce()).toEqual({ delivered: 2, retried: 0, dead: 0 });
    expect(slack.messages[0]!.text).toContain('Rollback approved by alice');
    expect(paging.health()).toEqual({ depth: 0, dead: 0, unreported: 0 });
  });

  it("each release is notified with its own rules file's channels, and approved only by that file's approvers", async () => {
    // A second rules file guarding another Deployment, with its own channels and approvers.
    const text = pagingRuleset(
      PAGING_RULES.replace('deployment: voice-server }', 'deployment: text-server }')
        .replace('  approvers: { U0ALICE: alice }', "  approvers: { U0BOB: bob }\n  channels: { releases: '#text-releases', incidents: '#text-incidents' }"),
    );
    slack.channels.set('#text-releases', 'C0TEXTREL').set('#text-incidents', 'C0TEXTINC');
    const voice = world.ruleset;
    const files = [voice, text];
    const multi = createPaging({
      db: world.store.db,
      settingsFor: (t) => (files.find((rs) => t && rs.targets.some((x) => x.deployment === t.deployment)) ?? files[0]!).notifications,
      now: () => T0 + 600_000, act: () => Promise.resolve({ ok: true, detail: 'rolled back' }), isLeader: () => true, leader: () => undefined,
      env: { PAGERDUTY_ROUTING_KEY_ONCALL: ROUTING_KEYS.ONCALL, SLACK_BOT_TOKEN: slack.token, SLACK_SIGNING_SECRET: 'shh' },
      pagerdutyAgent: new https.Agent({ ca: pd.cert }),
    });
    const started = world.store.startRelease({ namespace: 'voice-production', deployment: 'text-server', startedAt: T0, severity: 'minor', windowMs: 3_600_000, source: 'test' }, text, {});
    const textRelease = { ...world.release, id: started.id, deployment: 'text-server' };
    multi.notify(world.release, { kind: 'release-started', at: T0 });
    multi.notify(textRelease, { kind: 'release-started', at: T0 });
    const at = T0 + 600_000;
    const [d] = world.store.recordInstant(textRelease.id, at, { rules: {} }, [], [{
      at, action: 'page', tier: 'considered', rule: 'ttfa-regression', level: 1, value: 0.8, threshold: 0.6, mode: 'enforce',
      evidence: { value: 0.8, threshold: 0.6, release: { startedAt: T0, severity: 'minor', windowEnd: T0 + 3_600_000 }, rulesHash: text.hash },
    }]);
    multi.notify(textRelease, { kind: 'decision', decision: d! });
    await multi.worker.runOnce();
    // voice-server's start in its file's releases channel; text-server's start and page in its own file's.
    expect(slack.messages.map((m) => m.channel).sort()).toEqual(['C0RELEASES', 'C0TEXTINC', 'C0TEXTREL']);

    // The Slack buttons: alice approves for voice-server only, bob for text-server.
    const handler = multi.handlers[1]!;
    const press = async (user: string) => {
      const body = `payload=${encodeURIComponent(JSON.stringify({ type: 'block_actions', user: { id: user }, actions: [{ action_id: 'approve', value: String(d!.id) }] }))}`;
      const ts = String(Math.floor((T0 + 600_000) / 1000));
      const local = http.createServer((req, res) => void handler(req, res));
      await new Promise<void>((r) => local.listen(0, '127.0.0.1', r));
      try {
        const res = await fetch(`http://127.0.0.1:${(local.address() as AddressInfo).port}/v1/slack/interactions`, {
          method: 'POST',
          headers: { 'content-type': 'application/x-www-form-urlencoded', 'x-slack-request-timestamp': ts, 'x-slack-signature': slackSignature('shh', ts, body) },
          body,
        });
        return ((await res.json()) as { text: string }).text;
      } finally {
        await new Promise((r) => local.close(r));
      }
    };
    expect(await press('U0ALICE')).toMatch(/not an approver/);
    expect(await press('U0BOB')).toBe(`Recorded: decision ${d!.id} approved by bob.`);
    await multi.approvals.idle();
  });
});
