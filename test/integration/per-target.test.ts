// Per-target queries end to end: one rules file guards a stable Deployment and its canary with the same rule,
// written once with {{selector}}; the daemon binds it per Deployment (the canary's own series), reverts the canary
// only, records the selector it judged with, and replay and record bind the same queries.
import fs from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startDaemon, type DaemonProcess } from '../helpers/daemon-process.js';
import { waitFor } from '../helpers/free-port.js';
import { KubeStandIn } from '../helpers/kube-stand-in.js';
import { PrometheusStandIn } from '../helpers/prometheus-stand-in.js';
import { cliAsync } from '../helpers/run-cli-async.js';
import { useTempDir } from '../helpers/temp-dir.js';

const tmp = useTempDir();
const NS = 'voice-production';
const RULES = `version: 1
targets:
  - { namespace: ${NS}, deployment: voice-server }
  - { namespace: ${NS}, deployment: voice-server-canary }
interval: 1s
windows: { minor: 8s }
rules:
  - name: error-rate-critical
    tier: immediate
    query: 'diff_errors{ {{selector}} }'
    above: 0.05
    for: 2s
    when: { query: 'diff_requests{namespace="{{namespace}}", deployment="{{deployment}}"}', above: 1 }
`;

let badFrom = Number.POSITIVE_INFINITY;
/** The api Deployment's error ratio (api-canary's is 0.4): undefined for no data. */
let apiStable: number | null = 0.002;
/** Each Deployment's own series; the canary fails 40 % of its requests from `badFrom` on. */
function series(query: string, t: number): number | null | undefined {
  const errors = /^diff_errors\{ app="([^"]+)" \}$/.exec(query);
  if (errors?.[1] === 'api') return apiStable;
  if (errors?.[1] === 'api-canary') return 0.4;
  if (errors) return errors[1] === 'voice-server-canary' && t >= badFrom ? 0.4 : 0.001;
  const requests = /^diff_requests\{namespace="voice-production", deployment="([^"]+)"\}$/.exec(query);
  if (requests) return requests[1] === 'voice-server-canary' ? 5 : 95;
  return undefined; // an unbound query would be rejected (400), as Prometheus rejects `{{selector}}`
}

let prom: PrometheusStandIn;
let kube: KubeStandIn;
let daemon: DaemonProcess | undefined;
let dir: string;

beforeAll(async () => {
  prom = await new PrometheusStandIn(series).start();
  kube = await new KubeStandIn().start();
  kube.createDeployment(NS, 'voice-server', 'voice-server:1.4.1');
  kube.createDeployment(NS, 'voice-server-canary', 'voice-server:1.4.1');
}, 30_000);
beforeEach(() => {
  dir = tmp();
  fs.writeFileSync(path.join(dir, 'rules.yaml'), RULES);
});
afterAll(async () => {
  await daemon?.stop('SIGKILL');
  await kube?.stop();
  await prom?.stop();
});

const image = (name: string) => kube.image(NS, name);

describe('per-target queries', () => {
  it('one rule, bound per Deployment: the failing canary is reverted on its own series, the stable release promoted', async () => {
    const db = path.join(dir, 'decisions.db');
    daemon = await startDaemon(['--rules', path.join(dir, 'rules.yaml'), '--prometheus', prom.url, '--kube-server', kube.url, '--db', db, '--interval', '1s', '--verify-timeout', '5s']);
    kube.setImage(NS, 'voice-server-canary', 'voice-server:1.5.0');
    kube.setImage(NS, 'voice-server', 'voice-server:1.5.0');
    await waitFor('both releases guarded', () => daemon!.logs.filter((l) => l.msg === 'guarding release' && l.adopted === false).length === 2, 20_000, 50);
    badFrom = Date.now();
    await waitFor('the canary reverted', () => image('voice-server-canary') === 'voice-server:1.4.1', 30_000, 100);
    await daemon.waitForLog(/decision: promote/, 30_000);
    await daemon.stop('SIGTERM');
    daemon = undefined;
    expect(image('voice-server')).toBe('voice-server:1.5.0');

    const log = new Database(db, { readonly: true });
    const releases = log.prepare(`SELECT id, deployment, outcome, selector FROM releases WHERE outcome IN ('rolled-back', 'promoted') ORDER BY deployment`).all() as { id: number; deployment: string; outcome: string; selector: string }[];
    expect(releases.map((r) => [r.deployment, r.outcome, JSON.parse(r.selector) as unknown])).toEqual([
      ['voice-server', 'promoted', { app: 'voice-server' }],
      ['voice-server-canary', 'rolled-back', { app: 'voice-server-canary' }],
    ]);
    const canary = releases[1]!;
    const baseline = log.prepare(`SELECT value FROM evaluations WHERE release_id = ? AND verdict = 'breach' LIMIT 1`).pluck().get(canary.id);
    expect(baseline).toBe(0.4);
    const decisions = log.prepare(`SELECT at, action, rule, value, threshold FROM decisions WHERE release_id = ? ORDER BY id`).all(canary.id);
    log.close();

    // Replayed from the log: bound with the recorded selector, the same decisions.
    const replayed = await cliAsync(['replay', '--rules', path.join(dir, 'rules.yaml'), '--prometheus', prom.url, '--from-log', db, '--release', String(canary.id), '--db', path.join(dir, 'replay.db'), '--json']);
    expect(replayed.code, replayed.stderr).toBe(0);
    const out = JSON.parse(replayed.stdout) as { release: { id: number; target: string } };
    expect(out.release.target).toBe(`${NS}/voice-server-canary`);
    const again = new Database(path.join(dir, 'replay.db'), { readonly: true });
    expect(again.prepare(`SELECT at, action, rule, value, threshold FROM decisions WHERE release_id = ? ORDER BY id`).all(out.release.id)).toEqual(decisions);
    again.close();
  }, 120_000);

  it('canary vs stable: reverted against the stable value at the same instant; with no stable data, never judged', async () => {
    const rules = path.join(dir, 'canary.yaml');
    fs.writeFileSync(rules, `version: 1
targets:
  - { namespace: ${NS}, deployment: api }
  - { namespace: ${NS}, deployment: api-canary, compareTo: api }
interval: 1s
windows: { minor: 6s }
rules:
  - name: canary-errors
    tier: immediate
    query: 'diff_errors{ {{selector}} }'
    above: { stable: true, factor: 2, plus: 0.01 }
    for: 2s
`);
    kube.createDeployment(NS, 'api', 'api:1');
    kube.createDeployment(NS, 'api-canary', 'api:1');
    const db = path.join(dir, 'decisions.db');
    const args = ['--rules', rules, '--prometheus', prom.url, '--kube-server', kube.url, '--db', db, '--interval', '1s', '--verify-timeout', '5s'];
    // No stable data: the canary fails 40 % but is never judged, and is promoted at the window end saying so.
    apiStable = null;
    daemon = await startDaemon(args);
    kube.setImage(NS, 'api-canary', 'api:2');
    await waitFor('the canary release promoted', () => {
      const log = new Database(db, { readonly: true });
      const n = log.prepare(`SELECT count(*) FROM releases WHERE deployment = 'api-canary' AND revision = '2' AND outcome = 'promoted'`).pluck().get() as number;
      log.close();
      return n === 1;
    }, 30_000, 200);
    expect(image('api-canary')).toBe('api:2');
    // The stable Deployment healthy: 0.4 > 0.002 x 2 + 0.01, the canary is reverted; api itself has no such rule.
    apiStable = 0.002;
    kube.setImage(NS, 'api-canary', 'api:3');
    await waitFor('the canary reverted', () => image('api-canary') === 'api:2', 30_000, 100);
    await daemon.stop('SIGTERM');
    daemon = undefined;
    const log = new Database(db, { readonly: true });
    const verdicts = log.prepare(`SELECT r.id, group_concat(DISTINCT e.verdict) AS verdicts, r.outcome, r.stable FROM releases r JOIN evaluations e ON e.release_id = r.id WHERE r.deployment = 'api-canary' AND r.outcome <> 'superseded' GROUP BY r.id ORDER BY r.id`).all();
    const rollback = log.prepare(`SELECT value, threshold, evidence FROM decisions WHERE action = 'rollback'`).get() as { value: number; threshold: number; evidence: string };
    log.close();
    expect(verdicts).toMatchObject([
      { verdicts: 'no-stable', outcome: 'promoted', stable: JSON.stringify({ namespace: NS, deployment: 'api', selector: { app: 'api' } }) },
      { verdicts: 'breach', outcome: 'rolled-back' },
    ]);
    expect([rollback.value, rollback.threshold]).toEqual([0.4, 0.014]);
    expect(JSON.parse(rollback.evidence)).toMatchObject({ stable: { query: 'diff_errors{ app="api" }', value: 0.002, factor: 2, plus: 0.01 } });
  }, 120_000);

  it('record and replay bind for --target and --selector; a {{selector}} query without one is exit 2 naming the fix', async () => {
    const rules = path.join(dir, 'rules.yaml');
    const from = new Date(Date.now() - 60_000).toISOString();
    const to = new Date().toISOString();
    const recorded = await cliAsync(['record', '--rules', rules, '--prometheus', prom.url, '--from', from, '--to', to, '--step', '1s', '--target', `${NS}/voice-server-canary`, '--selector', 'app=voice-server-canary']);
    expect(recorded.code, recorded.stderr).toBe(0);
    expect(Object.keys((JSON.parse(recorded.stdout) as { queries: object }).queries).sort()).toEqual(['diff_errors{ app="voice-server-canary" }', 'diff_requests{namespace="voice-production", deployment="voice-server-canary"}']);
    const missing = await cliAsync(['replay', '--rules', rules, '--prometheus', prom.url, '--release-at', from, '--to', to, '--target', `${NS}/voice-server-canary`]);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toMatch(/pod selector of voice-production\/voice-server-canary is not known .*--selector key=value/);
    const other = await cliAsync(['replay', '--rules', rules, '--prometheus', prom.url, '--release-at', from, '--to', to, '--target', `${NS}/nope`]);
    expect(other.code).toBe(2);
    expect(other.stderr).toMatch(/--target voice-production\/nope is not guarded by .*its targets: voice-production\/voice-server, voice-production\/voice-server-canary/);
  }, 60_000);
});
