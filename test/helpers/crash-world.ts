// One crash test's world: the Kubernetes stand-in with voice-server at 1.4.1, PagerDuty / Slack / SMTP stand-ins on
// four escalation levels, a rules file, and `rollback-guard run` started with ROLLBACK_GUARD_FAILPOINT naming where
// it SIGKILLs itself. restart() runs it again on the same decision log with no failpoint. What happened is read
// from the stand-ins' own request logs, never from the daemon's view.
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, expect } from 'vitest';
import { startDaemon, type DaemonProcess } from './daemon-process.js';
import { waitFor } from './free-port.js';
import { KubeStandIn } from './kube-stand-in.js';
import { startLiveMetrics, startPagers, type LiveMetrics, type Pagers } from './live-stack.js';
import { ROUTING_KEYS } from './paging-fixture.js';
import { useTempDir } from './temp-dir.js';

export const NS = 'voice-production';
export const NAME = 'voice-server';
export const OLD_IMAGE = 'voice-server:1.4.1';
export const ERROR_RATE = 'sum(rate(voice_http_requests_total{status=~"5.."}[5s])) / sum(rate(voice_http_requests_total[5s]))';

export interface CrashWorld extends Pagers {
  kube: KubeStandIn;
  daemon: DaemonProcess;
  db: string;
  /** Waits until the daemon killed itself at its failpoint (and says so on stderr). */
  killed(timeoutMs?: number): Promise<void>;
  /** Starts the daemon again on the same decision log and rules, with no failpoint. */
  restart(): Promise<DaemonProcess>;
  image(): string;
  /** What went wrong, for a failed wait: the daemon's warnings and errors, and the first line of each Slack post. */
  diagnose(): string;
  close(): Promise<void>;
}

/**
 * `failpoint` is ROLLBACK_GUARD_FAILPOINT's value. `startKilled`: the failpoint is reached while the daemon starts
 * (a migration), so it never becomes ready.
 */
export async function crashWorld(o: { dir: string; rules: string; notifications?: string; prometheus: string; failpoint: string; env?: Record<string, string>; args?: string[]; startKilled?: boolean }): Promise<CrashWorld> {
  const kube = await new KubeStandIn().start();
  kube.createDeployment(NS, NAME, OLD_IMAGE);
  const pagers = await startPagers(o.dir, { levels: 4 });
  const rules = path.join(o.dir, 'rules.yaml');
  fs.writeFileSync(rules, pagers.withNotifications(o.rules, o.notifications));
  const db = path.join(o.dir, 'decisions.db');
  const args = ['--rules', rules, '--prometheus', o.prometheus, '--kube-server', kube.url, '--db', db, '--interval', '1s', '--verify-timeout', '10s', ...(o.args ?? [])];
  const env = { ...pagers.env, ...o.env };
  const armed = { ...env, ROLLBACK_GUARD_FAILPOINT: o.failpoint };
  let daemon: DaemonProcess | undefined;
  let startError: unknown;
  try {
    daemon = await startDaemon(args, armed);
  } catch (err) {
    if (!o.startKilled) {
      await Promise.allSettled([kube.stop(), pagers.stop()]);
      throw err;
    }
    startError = err;
  }
  const name = o.failpoint.split(':')[0]!;
  const world: CrashWorld = {
    ...pagers,
    kube,
    db,
    get daemon() {
      if (!daemon) throw new Error(`the daemon never started: ${String(startError)}`);
      return daemon;
    },
    async killed(timeoutMs = 60_000) {
      if (daemon) await waitFor(`the daemon to kill itself at ${o.failpoint}`, () => daemon!.child.signalCode === 'SIGKILL', timeoutMs, 50);
      const said = daemon ? daemon.stderr() : String(startError);
      expect(said).toContain(`failpoint ${name}`);
    },
    async restart() {
      daemon = await startDaemon(args, env);
      return daemon;
    },
    diagnose: () =>
      [
        ...(daemon?.logs ?? []).filter((l) => Number(l.level) >= 40).map((l) => `daemon: ${String(l.msg)}`),
        ...pagers.slack.messages.map((m) => `slack: ${m.text.split('\n')[0]!}`),
        ...pagers.pd.accepted.map((e) => `pagerduty: ${e.event_action} ${e.routing_key} ${e.payload?.severity ?? ''}`),
      ].join('\n'),
    image: () => kube.image(NS, NAME),
    async close() {
      await daemon?.stop('SIGKILL');
      await Promise.allSettled([kube.stop(), pagers.stop()]);
    },
  };
  return world;
}

/**
 * For a test file: the live metrics (exporter and Prometheus) for all its tests, and each test's crash world, closed
 * after it (the exporter healthy again). Call at the file's top level.
 */
export function useCrashWorlds(): { live: () => LiveMetrics; world: (o: Omit<Parameters<typeof crashWorld>[0], 'dir' | 'prometheus'> & { dir?: string }) => Promise<CrashWorld>; tmp: () => string } {
  const tmp = useTempDir();
  let live: LiveMetrics | undefined;
  let current: CrashWorld | undefined;
  beforeAll(async () => {
    live = await startLiveMetrics();
  }, 60_000);
  afterAll(async () => {
    await live?.close();
  });
  afterEach(async () => {
    await current?.close();
    current = undefined;
    if (live) live.exporter.errorRatio = 0;
  });
  const running = () => {
    if (!live) throw new Error('useCrashWorlds(): only inside a test');
    return live;
  };
  return {
    live: running,
    world: async (o) => (current = await crashWorld({ dir: tmp(), prometheus: running().prom.url, ...o })),
    tmp,
  };
}

const incident = (e: { routing_key: string; dedup_key: string }) => `${e.routing_key} ${e.dedup_key}`;

/**
 * What a guarded rollback owes, checked against what the stand-ins received: the Deployment patched exactly once;
 * ROLLBACK_START and ROLLBACK_COMPLETE posted and emailed once each, START first; one critical PagerDuty incident
 * on level 1's key and on level 4's (an outage rule), opened before ROLLBACK_COMPLETE; every resolve closing an
 * incident opened before it, and none on a level never paged; no Slack message posted twice (PagerDuty's dedup_key
 * collapses a trigger sent again after a crash; Slack has no such key). `approvedBy`: an approved rollback, whose
 * incident is the page's, triggered at its own severity on level 1 only.
 */
export function auditRollback(w: CrashWorld, o: { approvedBy?: string; recovered?: boolean } = {}): void {
  const applied = w.kube.deploymentWrites().filter((r) => r.status !== undefined && r.status < 300);
  expect(applied, 'PATCHes that changed the Deployment').toHaveLength(1);
  expect(w.image()).toBe(OLD_IMAGE);

  const posts = w.slack.messages.map((m) => m.text);
  const only = (re: RegExp) => {
    const at = posts.flatMap((t, i) => (re.test(t) ? [i] : []));
    expect(at, `Slack posts matching ${re}: ${JSON.stringify(posts, null, 1)}`).toHaveLength(1);
    return w.slack.postedAt[at[0]!]!;
  };
  const started = only(/Rollback Initiated/);
  const completed = only(/Rollback Complete/);
  expect(started).toBeLessThan(completed);
  if (o.approvedBy) expect(posts.find((t) => /Rollback Initiated/.test(t))).toContain(`approved by ${o.approvedBy}`);
  if (o.recovered) only(/Recovery confirmed after the rollback/);
  expect(posts.length, 'a Slack message posted twice').toBe(new Set(posts).size);
  expect(w.smtp.mails.map((m) => m.subject).sort()).toEqual([`[Voice System] Rollback Complete: ${NS}/${NAME}`, `[Voice System] Rollback Initiated: ${NS}/${NAME}`]);

  const events = w.pd.accepted.map((e, i) => ({ ...e, at: w.pd.acceptedAt[i]! }));
  const critical = events.filter((e) => e.event_action === 'trigger' && e.payload?.severity === 'critical');
  const keys = o.approvedBy ? [ROUTING_KEYS.ONCALL] : [ROUTING_KEYS.ONCALL, ROUTING_KEYS.VP];
  if (!o.approvedBy) {
    expect([...new Set(critical.map((e) => e.routing_key))].sort()).toEqual([...keys].sort());
    expect(new Set(critical.map(incident)).size, 'one incident per key').toBe(keys.length);
    for (const e of critical) expect(e.at).toBeLessThan(completed);
  }
  events.forEach((e, i) => {
    if (e.event_action !== 'resolve') return;
    expect(events.slice(0, i).some((t) => t.event_action === 'trigger' && incident(t) === incident(e)), `resolve of ${incident(e)}, never triggered`).toBe(true);
  });
  expect(new Set(events.filter((e) => e.event_action === 'resolve').map((e) => e.routing_key))).toEqual(new Set(keys));
}
