/* eslint-disable @typescript-eslint/no-unsafe-member-access -- the stand-in's objects are raw API JSON */
// Issue 19: a decision log that cannot be written (its disk full) must not make the guard fail silently. The real
// daemon, real Prometheus, the Kubernetes and pager stand-ins; the disk is "filled" with RLIMIT_FSIZE set on the
// running daemon (`prlimit --pid`): any write that would grow a file fails with EFBIG, as on a full volume, and
// needs no mount (CI may not allow one). Node ignores SIGXFSZ, so the process lives on, as it would with ENOSPC.
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import Database from 'better-sqlite3';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startDaemon, type DaemonProcess } from '../helpers/daemon-process.js';
import { waitFor } from '../helpers/free-port.js';
import { KubeStandIn } from '../helpers/kube-stand-in.js';
import { startLiveMetrics, startPagers, type LiveMetrics, type Pagers } from '../helpers/live-stack.js';
import { useTempDir } from '../helpers/temp-dir.js';

const run = promisify(execFile);
const tmp = useTempDir();
const NS = 'voice-production';
const NAME = 'voice-server';
let live: LiveMetrics;
let kube: KubeStandIn | undefined;
let daemon: DaemonProcess | undefined;
let pagers: Pagers | undefined;

const RULES = `version: 1
target: { namespace: ${NS}, deployment: ${NAME} }
interval: 1s
windows: { minor: 10m }
rules:
  - name: error-rate-critical
    tier: immediate
    query: 'sum(rate(voice_http_requests_total{status=~"5.."}[5s])) / sum(rate(voice_http_requests_total[5s]))'
    above: 0.05
    for: 2s
`;

beforeAll(async () => {
  live = await startLiveMetrics();
}, 60_000);
afterAll(async () => {
  await live?.close();
});
afterEach(async () => {
  await daemon?.stop('SIGKILL');
  daemon = undefined;
  await kube?.stop();
  await pagers?.stop();
  live.exporter.errorRatio = 0;
});

/** Sets the daemon's soft file-size limit (raising a hard one back needs CAP_SYS_RESOURCE): `bytes`, or unlimited. prlimit is util-linux's (in every Debian). */
async function fileSizeLimit(pid: number, bytes: number | 'unlimited'): Promise<void> {
  await run('prlimit', ['--pid', String(pid), `--fsize=${bytes}:`]).catch((err: NodeJS.ErrnoException) => {
    throw new Error(err.code === 'ENOENT' ? 'prlimit not found: install util-linux' : String(err));
  });
}

describe('a decision log that cannot be written', () => {
  it('makes the daemon not ready and pages directly; nothing is reverted unrecorded, nothing sent twice; when it is writable again the guard decides', async () => {
    const dir = tmp();
    pagers = await startPagers(dir);
    const { pd, slack } = pagers;
    kube = await new KubeStandIn().start();
    kube.createDeployment(NS, NAME, 'voice-server:1.4.1');
    const rules = path.join(dir, 'rules.yaml');
    fs.writeFileSync(rules, pagers.withNotifications(RULES));
    const db = path.join(dir, 'decisions.db');
    daemon = await startDaemon(['--rules', rules, '--prometheus', live.prom.url, '--kube-server', kube.url, '--db', db, '--interval', '1s', '--verify-timeout', '5s'], pagers.env);
    kube.setImage(NS, NAME, 'voice-server:1.5.0');
    await daemon.waitForLog(/guarding release/);
    await waitFor('DEPLOY_START sent', () => slack.messages.some((m) => m.text.includes('v1.5.0')), 30_000, 200);
    const pid = daemon.child.pid!;

    // The volume fills: no file may grow any more.
    const size = (f: string) => (fs.existsSync(f) ? fs.statSync(f).size : 0);
    await fileSizeLimit(pid, Math.max(size(db), size(`${db}-wal`)));
    await waitFor('not ready', async () => (await fetch(`${daemon!.url}/ready`)).status === 503, 30_000, 200);
    const health = (await (await fetch(`${daemon.url}/health`)).json()) as { status: string; decisionLog: { status: string; error: string } };
    expect(health.status).toBe('degraded');
    expect(health.decisionLog).toMatchObject({ status: 'unwritable' });
    expect(health.decisionLog.error).toMatch(/cannot write to the decision log/);
    expect(await (await fetch(`${daemon.url}/metrics`)).text()).toMatch(/^rollback_guard_decision_log_writable 0$/m);
    // Paged directly, once: the outbox is in the file that cannot be written.
    await waitFor('the direct page', () => pd.accepted.some((e) => e.dedup_key.endsWith('/decision-log') && e.event_action === 'trigger') && slack.messages.some((m) => m.text.includes('the decision log cannot be written')), 30_000, 200);
    expect(slack.messages.find((m) => m.text.includes('the decision log cannot be written'))!.text).toMatch(/rollback-guard needs attention[\s\S]*Problem: the decision log cannot be written \(cannot write to the decision log: .*\): nothing is decided or reverted until it can/);

    // A failing release meanwhile: nothing is reverted without its record.
    live.exporter.errorRatio = 0.08;
    await new Promise((r) => setTimeout(r, 6000));
    expect(kube.deploymentWrites()).toEqual([]);
    expect(pd.accepted.filter((e) => e.dedup_key.endsWith('/decision-log'))).toHaveLength(1);

    // Space again: ready, the incident resolved, and the guard decides (and records) the rollback.
    await fileSizeLimit(pid, 'unlimited');
    await waitFor('ready again', async () => (await fetch(`${daemon!.url}/ready`)).status === 200, 30_000, 200);
    await waitFor('the page resolved', () => pd.accepted.some((e) => e.dedup_key.endsWith('/decision-log') && e.event_action === 'resolve'), 30_000, 200);
    // The resolve closes the incident the trigger opened (the same dedup key, whatever happened to the release).
    const keys = pd.accepted.filter((e) => e.dedup_key.endsWith('/decision-log')).map((e) => `${e.event_action} ${e.dedup_key}`);
    expect(keys).toEqual([`trigger ${keys[0]!.split(' ')[1]}`, `resolve ${keys[0]!.split(' ')[1]}`]);
    await waitFor('the rollback', () => kube!.image(NS, NAME) === 'voice-server:1.4.1', 45_000, 200);
    await waitFor('ROLLBACK_COMPLETE', () => slack.messages.some((m) => /Rollback Complete/i.test(m.text)), 30_000, 200);
    const d = new Database(db, { readonly: true });
    expect(d.prepare(`SELECT action, rule FROM decisions WHERE action = 'rollback'`).all()).toEqual([{ action: 'rollback', rule: 'error-rate-critical' }]);
    expect(d.prepare(`SELECT count(*) AS n FROM rollbacks`).get()).toEqual({ n: 1 });
    d.close();
    // Nothing sent twice: a delivery the full log could not record is recorded later, not sent again.
    const texts = slack.messages.filter((m) => !m.text.includes('decision log')).map((m) => m.text);
    expect(texts.length).toBe(new Set(texts).size);
    expect(await (await fetch(`${daemon.url}/metrics`)).text()).toMatch(/^rollback_guard_decision_log_writable 1$/m);
  }, 150_000);

  it('a release that starts while the disk is full is not lost: not ready and paged, then guarded once the log can be written', async () => {
    const dir = tmp();
    pagers = await startPagers(dir);
    const { pd } = pagers;
    kube = await new KubeStandIn().start();
    kube.createDeployment(NS, NAME, 'voice-server:1.4.1');
    const rules = path.join(dir, 'rules.yaml');
    // A 4 s window: the adopted revision is promoted soon, and then no tick has anything to write.
    fs.writeFileSync(rules, pagers.withNotifications(RULES.replace('windows: { minor: 10m }', 'windows: { minor: 4s }')));
    const db = path.join(dir, 'decisions.db');
    daemon = await startDaemon(['--rules', rules, '--prometheus', live.prom.url, '--kube-server', kube.url, '--db', db, '--interval', '1s', '--verify-timeout', '5s'], pagers.env);
    await waitFor('no release guarded', async () => ((await (await fetch(`${daemon!.url}/health`)).json()) as { activeReleases: unknown[] }).activeReleases.length === 0, 30_000, 200);
    await new Promise((r) => setTimeout(r, 1500));
    const pid = daemon.child.pid!;
    const size = (f: string) => (fs.existsSync(f) ? fs.statSync(f).size : 0);
    await fileSizeLimit(pid, Math.max(size(db), size(`${db}-wal`)));
    kube.setImage(NS, NAME, 'voice-server:1.5.0');
    await daemon.waitForLog(/could not start guarding a release/, 30_000);
    await waitFor('not ready', async () => (await fetch(`${daemon!.url}/ready`)).status === 503, 30_000, 200);
    await waitFor('the direct page', () => pd.accepted.some((e) => e.dedup_key.endsWith('/decision-log') && e.event_action === 'trigger'), 30_000, 200);
    await fileSizeLimit(pid, 'unlimited');
    await waitFor('ready again', async () => (await fetch(`${daemon!.url}/ready`)).status === 200, 30_000, 200);
    // The next read of the Deployment (every 60 s; a dropped watch makes it come at once) reports it again.
    kube.dropWatches();
    await waitFor('1.5.0 guarded', () => daemon!.logs.some((l) => l.msg === 'guarding release' && l.revision === '2'), 30_000, 200);
    const d = new Database(db, { readonly: true });
    expect(d.prepare(`SELECT images FROM releases ORDER BY id DESC LIMIT 1`).pluck().get()).toContain('voice-server:1.5.0');
    d.close();
  }, 150_000);
});
