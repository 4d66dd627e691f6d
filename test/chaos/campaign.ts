// A seeded, bounded fault campaign (issue 19, part 1): the real daemon process against a real Prometheus (scraping a
// voice-server exporter) and the Kubernetes, PagerDuty, Slack and SMTP stand-ins, through fault proxies, over many
// releases, healthy or failing, with faults drawn from a seed. Afterwards the invariants are checked from the
// stand-ins' own request logs and the decision log, never from the daemon's view:
//   wrong rollbacks      a healthy release reverted, or a rollback not decided on a value past its threshold
//   duplicate rollbacks  more than one rollback PATCH for one release
//   lost notifications   a decision that owes notifications with none planned, or not delivered / dead-lettered
//                        (dead ones must show in /health) once the faults are healed
//   secrets leaked       a token, routing key or password in a log line, the decision log, or /health
// `npm run chaos -- --seed S --minutes M` soaks; test/chaos/campaign.test.ts runs a short one in `npm test`.
import fs from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { startDaemon, type DaemonProcess } from '../helpers/daemon-process.js';
import { startFaultProxy, type FaultProxy } from '../helpers/fault-proxy.js';
import { execFile } from 'node:child_process';
import { cliAsync } from '../helpers/run-cli-async.js';
import { SCHEMA_VERSION } from '../../src/adapters/sqlite/sqlite-decision-store.js';
import { promisify } from 'node:util';
import { waitFor } from '../helpers/free-port.js';
import { KubeStandIn } from '../helpers/kube-stand-in.js';
import { startLiveMetrics, startPagers } from '../helpers/live-stack.js';
import { ROUTING_KEYS } from '../helpers/paging-fixture.js';
import { mulberry32 } from '../fixtures/synthetic-voice-server.js';

const NS = 'voice-production';
const NAME = 'voice-server';
const ERRORS = 'sum(rate(voice_http_requests_total{status=~"5.."}[5s])) / sum(rate(voice_http_requests_total[5s]))';
const RULES = `version: 1
target: { namespace: ${NS}, deployment: ${NAME} }
interval: 1s
recovery: 3s
windows: { minor: 12s }
escalation:
  - { level: 1, after: 0s }
  - { level: 2, after: 4s }
rules:
  - name: error-rate-critical
    tier: immediate
    query: '${ERRORS}'
    above: 0.05
    for: 2s
    when: { query: 'sum(rate(voice_http_requests_total[5s]))', above: 1 }
  - name: error-rate-elevated
    tier: considered
    query: '${ERRORS}'
    above: 0.01
    for: 1s
`;
const API_TOKEN = 'chaos-api-token-5f0c2b9e8d7a6c5b4a39';

export interface CampaignResult {
  seed: number;
  releases: number;
  faults: number;
  wrongRollbacks: number;
  duplicateRollbacks: number;
  lostNotifications: number;
  secretsLeaked: number;
  /** Failing releases reverted, and healthy ones left in place: that both paths ran under the faults. */
  reverted: number;
  kept: number;
  /** Failing releases not reverted (a fault kept the guard from seeing or acting in time): allowed, reported. */
  missed: number;
  /** What each non-zero count was, for the failure message. */
  findings: string[];
  /** Every fault the campaign can inject. */
  catalogue: string[];
  /** The faults injected, in order, to reproduce by hand. */
  injected: string[];
}

export function summaryLine(r: CampaignResult): string {
  return `chaos: seed ${r.seed}, ${r.releases} releases, ${r.faults} faults, ${r.wrongRollbacks} wrong rollbacks, ${r.duplicateRollbacks} duplicate rollbacks, ${r.lostNotifications} lost notifications, ${r.secretsLeaked} secrets leaked`;
}

type Fault = { name: string; apply: () => unknown; heal: () => unknown; blinds?: true; restart?: true };

const LEASE = 'rollback-guard';
const MID_MIGRATION = 'SIGKILL mid-migration (a failpoint)';
const run = promisify(execFile);
/** A MicroTime, as a Lease's renewTime is written. */
const microTime = (ms: number) => new Date(ms).toISOString().replace('Z', '000Z');

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A seeded Fisher-Yates shuffle. */
function shuffled<T>(items: readonly T[], rnd: () => number): T[] {
  const out = [...items];
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(rnd() * (i + 1));
    [out[i], out[j]] = [out[j]!, out[i]!];
  }
  return out;
}

/** Runs releases until `releases` are done or `minutes` have passed, whichever comes first. */
export async function runCampaign(o: { seed: number; dir: string; releases?: number; minutes?: number; faultsPerRelease?: number }): Promise<CampaignResult> {
  const rnd = mulberry32(o.seed); // seeded: a campaign's faults repeat from its seed
  const deadline = Date.now() + (o.minutes ?? 60) * 60_000;
  const live = await startLiveMetrics();
  const kube = await new KubeStandIn().start();
  const pagers = await startPagers(o.dir, { levels: 2 });
  const promProxy = await startFaultProxy(live.prom.url);
  const kubeProxy = await startFaultProxy(kube.url);
  const rules = path.join(o.dir, 'rules.yaml');
  const valid = pagers.withNotifications(RULES);
  fs.writeFileSync(rules, valid);
  const db = path.join(o.dir, 'decisions.db');
  const args = ['--rules', rules, '--prometheus', promProxy.url, '--prometheus-timeout', '2s', '--kube-server', kubeProxy.url, '--db', db, '--interval', '1s', '--verify-timeout', '10s', '--blind-after', '3s'];
  // Two replicas sharing the decision log's volume, electing a leader through a Lease, as the chart runs them.
  const envOf = (pod: string) => ({ ...pagers.env, ROLLBACK_GUARD_API_TOKEN: API_TOKEN, ROLLBACK_GUARD_LEASE: LEASE, POD_NAMESPACE: NS, POD_NAME: pod });
  const runs: DaemonProcess[] = [];
  const replicas = new Map<string, DaemonProcess>();
  const start = async (pod: string, failpoint?: string) => {
    const d = await startDaemon(args, { ...envOf(pod), ...(failpoint ? { ROLLBACK_GUARD_FAILPOINT: failpoint } : {}) });
    runs.push(d);
    replicas.set(pod, d);
    return d;
  };
  const leaderPod = () => String((kube.lease(NS, LEASE) as { spec?: { holderIdentity?: string } } | undefined)?.spec?.holderIdentity ?? 'replica-a');
  /** Another holder takes the Lease (a replica from a split network, a person): the leader must stop acting at once. */
  const loseLease = () => kube.editLease(NS, LEASE, (l) => void Object.assign(l.spec as object, { holderIdentity: 'intruder', renewTime: microTime(Date.now()), leaseDurationSeconds: 15 }));
  /** The volume fills: no file of either replica may grow (RLIMIT_FSIZE, as in decision-log-full.test.ts). */
  const diskFull = async (limit: boolean) => {
    const size = (f: string) => (fs.existsSync(f) ? fs.statSync(f).size : 0);
    const bytes = limit ? String(Math.max(size(db), size(`${db}-wal`))) : 'unlimited';
    for (const d of replicas.values()) if (d.child.pid && d.child.exitCode === null) await run('prlimit', ['--pid', String(d.child.pid), `--fsize=${bytes}:`]).catch(() => {});
  };
  /**
   * The leader restarted armed to SIGKILL itself at a named point (its next decision of that kind): the crash lands
   * exactly there. Healed by starting it again unarmed, whether or not the point was reached.
   */
  let armed: { pod: string; run: DaemonProcess } | undefined;
  const crashAt = (failpoint: string): Fault => ({
    name: `SIGKILL ${failpoint} (a failpoint)`,
    apply: async () => {
      const pod = leaderPod() === 'intruder' ? 'replica-a' : leaderPod();
      await replicas.get(pod)?.stop('SIGKILL');
      armed = { pod, run: await start(pod, failpoint) };
    },
    heal: async () => {
      if (!armed) return;
      const { pod, run } = armed;
      armed = undefined;
      await run.stop('SIGKILL');
      const again = await start(pod);
      if (pod === 'replica-a') daemon = again;
    },
  });
  let pdDown: Promise<void> | undefined;
  let slackDown: Promise<void> | undefined;
  const result: CampaignResult = { catalogue: [], seed: o.seed, releases: 0, faults: 0, wrongRollbacks: 0, duplicateRollbacks: 0, lostNotifications: 0, secretsLeaked: 0, reverted: 0, kept: 0, missed: 0, findings: [], injected: [] };
  let daemon: DaemonProcess | undefined;
  try {
    kube.createDeployment(NS, NAME, 'voice-server:1.0');
    // The first start is SIGKILLed inside its last migration of the new decision log: the next start must find the
    // migration rolled back whole and do it again.
    result.catalogue.push(MID_MIGRATION);
    result.faults++;
    result.injected.push(`start: ${MID_MIGRATION}`);
    const killed = await start('replica-a', `mid-migration:${SCHEMA_VERSION}`).then(
      (d) => d,
      () => undefined,
    );
    if (killed) result.findings.push(`${MID_MIGRATION}: the daemon started instead of dying in its migration`);
    daemon = await start('replica-a');
    await waitFor('replica-a to lead', () => leaderPod() === 'replica-a', 30_000, 100);
    await start('replica-b');
    const faults = (proxy: FaultProxy, who: string): Fault[] => [
      { name: `${who} 503 then 200`, apply: () => (proxy.fault = { kind: 'status', status: 503, times: 1 + Math.floor(rnd() * 4) }), heal: () => (proxy.fault = { kind: 'pass' }), ...(who === 'prometheus' ? { blinds: true as const } : {}) },
      { name: `${who} 500s for a while`, apply: () => (proxy.fault = { kind: 'status', status: 500, times: 1_000_000 }), heal: () => (proxy.fault = { kind: 'pass' }), ...(who === 'prometheus' ? { blinds: true as const } : {}) },
      { name: `${who} slow past its timeout`, apply: () => (proxy.fault = { kind: 'delay', ms: 2500 }), heal: () => (proxy.fault = { kind: 'pass' }), ...(who === 'prometheus' ? { blinds: true as const } : {}) },
      { name: `${who} HTML from a proxy`, apply: () => (proxy.fault = { kind: 'respond', status: 200, body: '<html><body>Sign in</body></html>', contentType: 'text/html' }), heal: () => (proxy.fault = { kind: 'pass' }), ...(who === 'prometheus' ? { blinds: true as const } : {}) },
    ];
    const catalogue: Fault[] = [
      ...faults(promProxy, 'prometheus'),
      { name: 'prometheus empty result', apply: () => (promProxy.fault = { kind: 'respond', status: 200, body: '{"status":"success","data":{"resultType":"vector","result":[]}}' }), heal: () => (promProxy.fault = { kind: 'pass' }), blinds: true },
      ...faults(kubeProxy, 'kubernetes'),
      { name: 'kubernetes 409 from a concurrent writer', apply: () => (kubeProxy.fault = { kind: 'status', status: 409, times: 2, contentType: 'application/json', body: '{"kind":"Status","apiVersion":"v1","status":"Failure","reason":"Conflict","code":409,"message":"the object has been modified"}' }), heal: () => (kubeProxy.fault = { kind: 'pass' }) },
      { name: 'kubernetes 403', apply: () => (kubeProxy.fault = { kind: 'status', status: 403, times: 2, contentType: 'application/json', body: '{"kind":"Status","apiVersion":"v1","status":"Failure","reason":"Forbidden","code":403,"message":"forbidden"}' }), heal: () => (kubeProxy.fault = { kind: 'pass' }) },
      { name: 'pagerduty 500, 429', apply: () => pagers.pd.failNext({ status: 500 }, { status: 429, retryAfter: 1 }), heal: () => {} },
      { name: 'slack 429, 500', apply: () => pagers.slack.failNext({ status: 429, retryAfter: 1 }, { status: 500 }), heal: () => {} },
      { name: 'pagerduty 400 (a permanent error)', apply: () => pagers.pd.failNext({ status: 400 }), heal: () => {} },
      { name: 'slack channel_not_found (a permanent error)', apply: () => pagers.slack.failNext({ error: 'channel_not_found' }), heal: () => {} },
      { name: 'pagerduty down for a while', apply: () => void (pdDown = pagers.pd.stop()), heal: async () => { await pdDown; await pagers.pd.start(); } },
      { name: 'slack down for a while', apply: () => void (slackDown = pagers.slack.stop()), heal: async () => { await slackDown; await pagers.slack.start(); } },
      { name: 'kubernetes watches dropped', apply: () => kube.dropWatches(), heal: () => {} },
      { name: 'the Lease lost to another holder', apply: loseLease, heal: () => {} },
      { name: 'the Lease lost mid-rollback (just before the PATCH lands)', apply: () => kube.beforeNext('PATCH', /\/deployments\//, loseLease), heal: () => {} },
      { name: 'the decision log disk full', apply: () => diskFull(true), heal: () => diskFull(false) },
      crashAt('after-decision-commit:rollback'), // between the intent and the PATCH
      crashAt('after-outbox-rows'), // mid-outbox: notifications stored, nothing sent or done yet
      crashAt('after-send'), // sent, the outbox not yet told
      { name: 'SIGKILL of the leader', apply: () => void replicas.get(leaderPod())?.stop('SIGKILL'), heal: () => {}, restart: true },
      // Rejected at the reload: the rules in force stay (and /health says degraded until the file is fixed).
      { name: 'an invalid rules file hot-reloaded', apply: () => fs.writeFileSync(rules, `${fs.readFileSync(rules, 'utf8')}\n  - { name: broken, tier: immediate }\n`), heal: () => fs.writeFileSync(rules, valid) },
    ];

    result.catalogue.push(...catalogue.map((f) => f.name));
    const deck: Fault[] = [];
    const perRelease = o.faultsPerRelease ?? 2;
    const seen = () => new Database(db, { readonly: true });
    let n = 1;
    while (result.releases < (o.releases ?? Infinity) && Date.now() < deadline) {
      n++;
      const image = `voice-server:1.${n}`;
      const bad = rnd() < 0.4;
      const writesBefore = kube.deploymentWrites().filter((w) => w.status !== undefined && w.status < 300).length;
      live.exporter.errorRatio = 0;
      kube.setImage(NS, NAME, image);
      result.releases++;
      await sleep(1500);
      if (bad) live.exporter.errorRatio = 0.2;
      // `perRelease` faults drawn from a seeded shuffled deck (so every kind comes up before any twice), at seeded
      // moments of the release; every third release also SIGKILLs the leader.
      const chosen = Array.from({ length: perRelease }, () => {
        if (deck.length === 0) deck.push(...shuffled(catalogue.filter((f) => !f.restart), rnd));
        return deck.pop()!;
      });
      if (result.releases % 3 === 0) chosen.splice(Math.floor(rnd() * (chosen.length + 1)), 0, catalogue.find((f) => f.restart)!);
      let blinded = false;
      for (const f of chosen) {
        await sleep(Math.floor(rnd() * 3000));
        result.faults++;
        result.injected.push(`release ${result.releases} (${bad ? 'failing' : 'healthy'}): ${f.name}`);
        const killed = f.restart ? leaderPod() : undefined;
        await Promise.resolve(f.apply());
        if (f.blinds) blinded = true;
        if (killed) {
          await sleep(200);
          const restarted = await start(replicas.has(killed) ? killed : 'replica-a');
          if (killed === 'replica-a') daemon = restarted;
        }
        await sleep(1000 + Math.floor(rnd() * 3000));
        await Promise.resolve(f.heal());
      }
      // The release ends: reverted, or its window over and promoted (the faults are healed by now).
      await waitFor(`release ${result.releases} to end`, () => {
        if (kube.image(NS, NAME) !== image) return true;
        const d = seen();
        try {
          return d.prepare(`SELECT 1 FROM releases WHERE namespace = ? AND deployment = ? AND outcome IS NOT NULL AND id = (SELECT max(id) FROM releases)`).get(NS, NAME) !== undefined;
        } finally {
          d.close();
        }
      }, 60_000, 200).catch(() => undefined);
      const reverted = kube.image(NS, NAME) !== image;
      const writes = kube.deploymentWrites().filter((w) => w.status !== undefined && w.status < 300).length - writesBefore;
      if (reverted && bad) result.reverted++;
      if (!reverted && !bad) result.kept++;
      if (!reverted && bad) result.missed++;
      if (reverted && !bad) {
        result.wrongRollbacks++;
        result.findings.push(`release ${result.releases} (${image}) was healthy and reverted${blinded ? ' while Prometheus was faulty' : ''}`);
      }
      if (writes > 1) {
        result.duplicateRollbacks++;
        result.findings.push(`release ${result.releases} (${image}): ${writes} rollback PATCHes`);
      }
      live.exporter.errorRatio = 0;
      // Let the 5 s rate windows forget this release's errors before the next one is judged.
      await sleep(6500);
    }

    // Every notification owed is delivered or dead-lettered once the faults are healed; dead ones show in /health.
    promProxy.fault = { kind: 'pass' };
    kubeProxy.fault = { kind: 'pass' };
    const health = async () => (await (await fetch(`${daemon!.url}/health`)).json()) as { outbox: { depth: number; dead: number } };
    await waitFor('the outbox to drain', async () => (await health()).outbox.depth === 0, 90_000, 500).catch(() => undefined);
    const finalHealth = await health();
    const d = seen();
    try {
      const owed = d.prepare(`SELECT id, action, rule FROM decisions WHERE mode <> 'shadow' AND action IN ('rollback', 'page', 'escalate', 'resolve', 'promote')`).all() as { id: number; action: string; rule: string | null }[];
      for (const dec of owed) {
        const rows = d.prepare(`SELECT status FROM outbox WHERE decision_id = ?`).pluck().all(dec.id) as string[];
        if (rows.length === 0 || rows.some((s) => s !== 'delivered' && s !== 'dead')) {
          result.lostNotifications++;
          result.findings.push(`decision ${dec.id} (${dec.action} ${dec.rule ?? ''}): ${rows.length ? `outbox rows ${rows.join(', ')}` : 'no notification planned'}`);
        }
      }
      // No rollback on unknown data: each one was decided on a value read, past its threshold.
      for (const r of d.prepare(`SELECT id, value, threshold FROM decisions WHERE action = 'rollback'`).all() as { id: number; value: number | null; threshold: number | null }[]) {
        if (r.value === null || r.threshold === null || !(r.value > r.threshold)) {
          result.wrongRollbacks++;
          result.findings.push(`rollback decision ${r.id} was not decided on a breach (value ${r.value}, threshold ${r.threshold})`);
        }
      }
      const dead = d.prepare(`SELECT count(*) FROM outbox WHERE status = 'dead'`).pluck().get() as number;
      if (dead !== finalHealth.outbox.dead) {
        result.lostNotifications++;
        result.findings.push(`${dead} dead notifications in the log, ${finalHealth.outbox.dead} in /health`);
      }
    } finally {
      d.close();
    }

    // No secret anywhere a person or a log shipper reads.
    const secrets = [API_TOKEN, pagers.slack.token, pagers.smtp.pass, ...Object.values(ROUTING_KEYS)].filter((s) => s.length >= 8);
    // Every release's HTML report, as people read it after an incident.
    const reports: [string, string][] = [];
    const ids = (() => {
      const r = seen();
      try {
        return r.prepare(`SELECT id FROM releases`).pluck().all() as number[];
      } finally {
        r.close();
      }
    })();
    for (const id of ids) {
      const out = path.join(o.dir, `report-${id}.html`);
      const made = await cliAsync(['report', '--release', String(id), '--db', db, '--out', out]);
      if (made.code !== 0) result.findings.push(`report --release ${id} failed: ${made.stderr.trim()}`);
      else reports.push([`HTML report of release ${id}`, fs.readFileSync(out, 'utf8')]);
    }
    const places: [string, string][] = [
      ...reports,
      ...runs.map((r, i): [string, string] => [`daemon run ${i + 1} log`, r.logs.map((l) => JSON.stringify(l)).join('\n') + r.stderr()]),
      ['decision log', fs.readFileSync(db).toString('latin1') + (fs.existsSync(`${db}-wal`) ? fs.readFileSync(`${db}-wal`).toString('latin1') : '')],
      ['/health', JSON.stringify(finalHealth)],
    ];
    for (const [where, text] of places) {
      for (const s of secrets) {
        if (text.includes(s)) {
          result.secretsLeaked++;
          result.findings.push(`a secret (${s.slice(0, 4)}...) in the ${where}`);
        }
      }
    }
  } finally {
    for (const r of replicas.values()) await r.stop('SIGTERM');
    for (const r of runs) await r.stop('SIGKILL');
    await Promise.allSettled([promProxy.close(), kubeProxy.close(), kube.stop(), pagers.stop(), live.close()]);
  }
  return result;
}

// `npm run chaos -- --seed S --minutes M`: one campaign, its summary line, exit 1 on any non-zero count.
if (import.meta.url === `file://${process.argv[1]}`) {
  const arg = (name: string, fallback: number) => {
    const i = process.argv.indexOf(`--${name}`);
    const v = i >= 0 ? Number(process.argv[i + 1]) : fallback;
    if (!Number.isFinite(v) || v <= 0) throw new Error(`--${name} must be a positive number`);
    return v;
  };
  const seed = arg('seed', Math.floor(Math.random() * 2 ** 31));
  const minutes = arg('minutes', 5);
  const dir = fs.mkdtempSync(path.join(process.env.TMPDIR ?? '/tmp', 'rollback-guard-chaos-'));
  const r = await runCampaign({ seed, minutes, dir });
  console.log(summaryLine(r));
  console.log(`  ${r.reverted} failing releases reverted, ${r.missed} not (allowed under faults), ${r.kept} healthy ones kept`);
  for (const f of r.findings) console.log(`  ${f}`);
  if (r.findings.length) {
    console.log(`faults injected (seed ${seed}):`);
    for (const f of r.injected) console.log(`  ${f}`);
  }
  process.exitCode = r.wrongRollbacks + r.duplicateRollbacks + r.lostNotifications + r.secretsLeaked > 0 ? 1 : 0;
  fs.rmSync(dir, { recursive: true, force: true });
}
