// A seeded, bounded fault campaign (issue 19, part 1): the real daemon process against a real Prometheus (scraping a
// voice-server exporter) and the Kubernetes, PagerDuty, Slack and SMTP stand-ins, through fault proxies, over many
// releases, healthy or failing, with faults drawn from a seed. Afterwards the invariants are checked from the
// stand-ins' own request logs and the decision log, never from the daemon's view:
//   wrong rollbacks      a healthy release reverted (or any rollback while Prometheus could not be read)
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
  /** The faults injected, in order, to reproduce by hand. */
  injected: string[];
}

export function summaryLine(r: CampaignResult): string {
  return `chaos: seed ${r.seed}, ${r.releases} releases, ${r.faults} faults, ${r.wrongRollbacks} wrong rollbacks, ${r.duplicateRollbacks} duplicate rollbacks, ${r.lostNotifications} lost notifications, ${r.secretsLeaked} secrets leaked`;
}

type Fault = { name: string; apply: () => void; heal: () => void; blinds?: true; restart?: true };

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Runs releases until `releases` are done or `minutes` have passed, whichever comes first. */
export async function runCampaign(o: { seed: number; dir: string; releases?: number; minutes?: number }): Promise<CampaignResult> {
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
  const env = { ...pagers.env, ROLLBACK_GUARD_API_TOKEN: API_TOKEN };
  const runs: DaemonProcess[] = [];
  const start = async () => {
    const d = await startDaemon(args, env);
    runs.push(d);
    return d;
  };
  const result: CampaignResult = { seed: o.seed, releases: 0, faults: 0, wrongRollbacks: 0, duplicateRollbacks: 0, lostNotifications: 0, secretsLeaked: 0, reverted: 0, kept: 0, missed: 0, findings: [], injected: [] };
  let daemon: DaemonProcess | undefined;
  try {
    kube.createDeployment(NS, NAME, 'voice-server:1.0');
    daemon = await start();
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
      { name: 'SIGKILL of the daemon', apply: () => void daemon?.stop('SIGKILL'), heal: () => {}, restart: true },
      // Rejected at the reload: the rules in force stay (and /health says degraded until the file is fixed).
      { name: 'an invalid rules file hot-reloaded', apply: () => fs.writeFileSync(rules, `${fs.readFileSync(rules, 'utf8')}\n  - { name: broken, tier: immediate }\n`), heal: () => fs.writeFileSync(rules, valid) },
    ];

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
      // One or two faults, at seeded moments of the release; every third release also SIGKILLs the daemon.
      const chosen = Array.from({ length: 1 + Math.floor(rnd() * 2) }, () => catalogue[Math.floor(rnd() * catalogue.length)]!);
      if (result.releases % 3 === 0 && !chosen.some((f) => f.restart)) chosen.splice(Math.floor(rnd() * (chosen.length + 1)), 0, catalogue.find((f) => f.restart)!);
      let blinded = false;
      for (const f of chosen) {
        await sleep(Math.floor(rnd() * 3000));
        result.faults++;
        result.injected.push(`release ${result.releases} (${bad ? 'failing' : 'healthy'}): ${f.name}`);
        f.apply();
        if (f.blinds) blinded = true;
        if (f.restart) {
          await sleep(200);
          daemon = await start();
        }
        await sleep(1000 + Math.floor(rnd() * 3000));
        f.heal();
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
    const places: [string, string][] = [
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
    await daemon?.stop('SIGTERM');
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
