// Crash tests for the decisions that owe a message but no immediate rollback: a considered page, a promote, and an
// approved rollback, each with the daemon SIGKILLed right after its commit and restarted on the same decision log.
// What each owes must arrive once, read from the stand-ins' own request logs. See ADR 0013.
import fs from 'node:fs';
import Database from 'better-sqlite3';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { auditRollback, ERROR_RATE, NAME, NS, OLD_IMAGE, useCrashWorlds, type CrashWorld } from '../helpers/crash-world.js';
import { waitFor } from '../helpers/free-port.js';
import { ROUTING_KEYS } from '../helpers/paging-fixture.js';
import { cliAsync } from '../helpers/run-cli-async.js';

const { live, world: newWorld, tmp } = useCrashWorlds();

const RULES = `version: 1
target: { namespace: ${NS}, deployment: ${NAME} }
interval: 1s
windows: { hotfix: 10s, minor: 10m }
rules:
  - name: error-rate-sustained
    tier: considered
    query: '${ERROR_RATE}'
    above: 0.01
    for: 2s
`;


async function until(w: CrashWorld, what: string, ok: () => boolean, timeoutMs = 60_000): Promise<void> {
  await waitFor(what, ok, timeoutMs, 100).catch((err: Error) => {
    throw new Error(`${err.message}\n${w.diagnose()}`);
  });
}

const posts = (w: CrashWorld, re: RegExp) => w.slack.messages.filter((m) => re.test(m.text));
const settle = () => new Promise((r) => setTimeout(r, 3000)); // a few more ticks and delivery passes

describe('killed right after a decision that owes a message, then restarted on the same decision log', () => {
  it('a considered page (after-decision-commit:page): ISSUE_DETECTED and the level-1 page go out once, nothing is patched', async () => {
    const w = await newWorld({ rules: RULES, failpoint: 'after-decision-commit:page' });
    w.kube.setImage(NS, NAME, 'voice-server:1.5.0');
    await w.daemon.waitForLog(/guarding release/);
    live().exporter.errorRatio = 0.03;
    await w.killed();
    await w.restart();
    await until(w, 'the page in Slack and at PagerDuty', () => posts(w, /Issue Detected/i).length > 0 && w.pd.accepted.some((e) => e.event_action === 'trigger'));
    await settle();
    expect(posts(w, /Issue Detected/i)).toHaveLength(1);
    const triggers = w.pd.accepted.filter((e) => e.event_action === 'trigger');
    expect(triggers.map((e) => [e.routing_key, e.payload?.severity])).toEqual([[ROUTING_KEYS.ONCALL, 'warning']]);
    expect(w.kube.deploymentWrites()).toHaveLength(0);
  }, 180_000);

  it('a promote (after-decision-commit:promote): DEPLOY_SUCCESS goes out once, with its summary readings', async () => {
    const summary = `  summary:\n    LATENCY: { query: 'vector(0.45)', format: seconds }\n`;
    const w = await newWorld({ rules: RULES, notifications: summary, failpoint: 'after-decision-commit:promote' });
    w.kube.setImage(NS, NAME, 'voice-server:1.4.2', { annotations: { 'rollback-guard.io/severity': 'hotfix' } });
    await w.daemon.waitForLog(/guarding release/);
    await w.killed();
    await w.restart();
    await until(w, 'DEPLOY_SUCCESS in Slack', () => posts(w, /Deployment Complete/).length > 0);
    await settle();
    expect(posts(w, /Deployment Complete/)).toHaveLength(1);
    expect(posts(w, /Deployment Complete/)[0]!.text).toContain('- P95 Latency: 450 ms\n');
    expect(posts(w, /Deployment Starting/).map((m) => m.text.match(/Version: (\S+)/)?.[1])).toEqual(['v1.4.1', 'v1.4.2']);
  }, 180_000);

  it('"guard blind": killed after the page, restarted still blind: not paged again; sighted once Prometheus is back', async () => {
    const w = await newWorld({ rules: RULES, failpoint: '', args: ['--blind-after', '3s'] });
    w.kube.setImage(NS, NAME, 'voice-server:1.5.0');
    await w.daemon.waitForLog(/guarding release/);
    const prom = live().prom;
    await prom.stop();
    try {
      // Killed once the outbox has recorded the page as sent: a kill between Slack's answer and that record would
      // resend the same post (at-least-once, README "Nothing lost"), which is not what this test is about.
      await until(w, 'the guard-blind page sent and recorded', () => {
        const db = new Database(w.db, { readonly: true });
        const pending = db.prepare(`SELECT count(*) FROM outbox WHERE key LIKE '%:guard-blind:%' AND status <> 'delivered'`).pluck().get() as number;
        const sent = db.prepare(`SELECT count(*) FROM outbox WHERE key LIKE '%:guard-blind:%'`).pluck().get() as number;
        db.close();
        return sent > 0 && pending === 0;
      }, 30_000);
      await w.daemon.stop('SIGKILL');
      const again = await w.restart();
      await new Promise((r) => setTimeout(r, 9500)); // well past --blind-after, still blind, and a delivery pass
      expect((await (await fetch(`${again.url}/health`)).json()) as { status: string }).toMatchObject({ status: 'blind' });
    } finally {
      await prom.restart();
    }
    await w.daemon.waitForLog(/Prometheus readable again/, 30_000);
    expect(posts(w, /metrics unreachable/)).toHaveLength(1);
    expect(w.pd.accepted.filter((e) => e.event_action === 'trigger' && e.dedup_key.endsWith('/guard-blind'))).toHaveLength(1);
  }, 180_000);

  it('an approved rollback (after-approval-commit): carried out after the restart, announced once, the page acknowledged', async () => {
    const dir = tmp();
    fs.writeFileSync(path.join(dir, 'api-token'), 'approve-me');
    const w = await newWorld({ dir, rules: RULES, failpoint: 'after-approval-commit', env: { ROLLBACK_GUARD_API_TOKEN_FILE: path.join(dir, 'api-token') } });
    w.kube.setImage(NS, NAME, 'voice-server:1.5.0');
    await w.daemon.waitForLog(/guarding release/);
    live().exporter.errorRatio = 0.03;
    const page = await w.daemon.waitForLog(/decision: page/, 45_000);
    // The daemon dies inside the request, after the approval's commit: the CLI gets no answer.
    const approve = await cliAsync(['approve', String(page.decisionId), '--by', 'alice', '--reason', 'errors on every call', '--url', w.daemon.url], { ROLLBACK_GUARD_API_TOKEN: 'approve-me' });
    expect(approve.code).not.toBe(0);
    await w.killed();
    await w.restart();
    await until(w, 'the approved rollback', () => {
      if (w.image() === OLD_IMAGE) live().exporter.errorRatio = 0; // the version rolled back to is healthy
      return w.image() === OLD_IMAGE;
    });
    await until(w, 'ROLLBACK_COMPLETE and the recovery verdict in Slack', () => posts(w, /Rollback Complete/).length > 0 && posts(w, /Recovery confirmed/).length > 0);
    await settle();
    auditRollback(w, { approvedBy: 'alice', recovered: true });
    expect(posts(w, /Issue Detected/i)[0]!.text).toContain('Rollback approved by alice');
    expect(w.pd.accepted.filter((e) => e.event_action === 'acknowledge').map((e) => e.routing_key)).toEqual([ROUTING_KEYS.ONCALL]);
  }, 180_000);
});
