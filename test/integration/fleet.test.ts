// Fleets end to end: one rules file selects Deployments by label (`select:`), and the daemon guards each as it
// appears, with its own releases, holds and decision-log rows, sends each rule query once for all of them, stops
// guarding one that is deleted or loses the label, picks a selected release up again after a restart, and refuses
// to start when two files claim one Deployment.
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
const NS = 'shop';
const GUARD = { 'rollback-guard.io/guard': 'true' };
const RULES = `version: 1
select:
  namespace: ${NS}
  matchLabels: { rollback-guard.io/guard: "true" }
interval: 1s
windows: { minor: 6s }
rules:
  - name: error-rate-critical
    tier: immediate
    query: 'fleet_errors{namespace="{{namespace}}", deployment="{{deployment}}"}'
    above: 0.05
    for: 1s
`;

/** Each Deployment's error ratio; a Deployment named here fails. */
const failing = new Set<string>();
function series(query: string): number | null | undefined {
  const m = /^fleet_errors\{namespace="([^"]+)", deployment="([^"]+)"\}$/.exec(query);
  if (!m) return undefined;
  return failing.has(m[2]!) ? 0.4 : 0.001;
}

let prom: PrometheusStandIn;
let kube: KubeStandIn;
let daemon: DaemonProcess | undefined;
let dir: string;

beforeAll(async () => {
  prom = await new PrometheusStandIn(series).start();
  kube = await new KubeStandIn().start();
}, 30_000);
beforeEach(() => {
  dir = tmp();
  fs.writeFileSync(path.join(dir, 'fleet.yaml'), RULES);
});
afterAll(async () => {
  await daemon?.stop('SIGKILL');
  await kube?.stop();
  await prom?.stop();
});

const image = (name: string) => kube.image(NS, name);
function rows(db: string, sql: string, ...args: unknown[]): unknown[] {
  const log = new Database(db, { readonly: true });
  try {
    return log.prepare(sql).all(...args);
  } finally {
    log.close();
  }
}

describe('fleets: Deployments selected by label', () => {
  it('Deployments added and removed at run time, each judged on its own: the failing one reverted, the others promoted', async () => {
    kube.createDeployment(NS, 'api', 'api:1', { labels: GUARD });
    kube.createDeployment(NS, 'cart', 'cart:1', { labels: GUARD });
    kube.createDeployment(NS, 'db', 'db:1'); // not labelled: never guarded
    const db = path.join(dir, 'decisions.db');
    const args = ['--rules', path.join(dir, 'fleet.yaml'), '--prometheus', prom.url, '--kube-server', kube.url, '--db', db, '--interval', '1s', '--verify-timeout', '5s'];
    daemon = await startDaemon(args);
    const selected = () => daemon!.logs.filter((l) => l.msg === 'Deployment selected: guarded from now on').map((l) => l.target);
    expect(selected().sort()).toEqual([`${NS}/api`, `${NS}/cart`]);

    // A Deployment created at run time with the label is guarded; its bad release is reverted, its alone.
    kube.createDeployment(NS, 'search', 'search:1', { labels: GUARD });
    await waitFor('search selected', () => selected().includes(`${NS}/search`), 10_000, 50);
    const grouped = prom.requests.grouped;
    failing.add('search');
    kube.setImage(NS, 'search', 'search:2');
    kube.setImage(NS, 'api', 'api:2');
    kube.setImage(NS, 'cart', 'cart:2');
    await waitFor('search reverted', () => image('search') === 'search:1', 30_000, 100);
    // Three releases judged at once: the query went once for all of them.
    expect(prom.requests.grouped).toBeGreaterThan(grouped);
    await waitFor('api and cart promoted', () => rows(db, `SELECT 1 FROM releases WHERE deployment IN ('api', 'cart') AND revision = '2' AND outcome = 'promoted'`).length === 2, 30_000, 200);
    expect([image('api'), image('cart')]).toEqual(['api:2', 'cart:2']);

    // Labelled at run time: guarded. Loses the label, or is deleted, mid-release: no longer guarded, the release
    // abandoned (never reverted later).
    kube.setLabels(NS, 'db', { app: 'db', ...GUARD });
    await waitFor('db selected', () => selected().includes(`${NS}/db`), 10_000, 50);
    failing.add('cart');
    kube.setImage(NS, 'cart', 'cart:3');
    await waitFor('cart release guarded', () => daemon!.logs.some((l) => l.msg === 'guarding release' && l.target === `${NS}/cart` && l.revision === '3'), 10_000, 50);
    kube.setLabels(NS, 'cart', { app: 'cart' });
    kube.deleteDeployment(NS, 'api');
    await waitFor('both dropped', () => daemon!.logs.filter((l) => l.msg === 'Deployment no longer selected: not guarded any more').length === 2, 10_000, 50);
    await new Promise((r) => setTimeout(r, 2500)); // a failing cart, no longer guarded, is not reverted
    expect(image('cart')).toBe('cart:3');
    expect(rows(db, `SELECT deployment, revision, outcome FROM releases WHERE source = 'live' ORDER BY id`)).toEqual(expect.arrayContaining([
      { deployment: 'search', revision: '2', outcome: 'rolled-back' },
      { deployment: 'cart', revision: '3', outcome: 'abandoned' },
    ]));
    expect(rows(db, `SELECT outcome_note AS note FROM releases WHERE deployment = 'cart' AND revision = '3'`)).toEqual([{ note: `${NS}/cart is no longer selected by ${path.join(dir, 'fleet.yaml')} (deleted, or its labels changed)` }]);
    await daemon.stop('SIGTERM');
    daemon = undefined;

    // replay and record take the fleet file: from the log (the release names its Deployment) the same decisions;
    // a recording for --target names that Deployment.
    const [search] = rows(db, `SELECT id FROM releases WHERE deployment = 'search' AND revision = '2'`) as { id: number }[];
    const replayed = await cliAsync(['replay', '--rules', path.join(dir, 'fleet.yaml'), '--prometheus', prom.url, '--from-log', db, '--release', String(search!.id), '--db', path.join(dir, 'replay.db'), '--json']);
    expect(replayed.code, replayed.stderr).toBe(0);
    const decided = (file: string, id: number) => rows(file, `SELECT at, action, rule, value FROM decisions WHERE release_id = ? ORDER BY id`, id);
    expect(decided(path.join(dir, 'replay.db'), (JSON.parse(replayed.stdout) as { release: { id: number } }).release.id)).toEqual(decided(db, search!.id));
    const now = new Date().toISOString();
    const recorded = await cliAsync(['record', '--rules', path.join(dir, 'fleet.yaml'), '--target', `${NS}/search`, '--prometheus', prom.url, '--from', new Date(Date.now() - 60_000).toISOString(), '--to', now]);
    expect(recorded.code, recorded.stderr).toBe(0);
    expect(JSON.parse(recorded.stdout)).toMatchObject({ target: { namespace: NS, deployment: 'search' }, queries: { [`fleet_errors{namespace="${NS}", deployment="search"}`]: expect.anything() } });
    const unnamed = await cliAsync(['record', '--rules', path.join(dir, 'fleet.yaml'), '--prometheus', prom.url, '--from', now, '--to', now]);
    expect(unnamed.code).toBe(2);
    expect(unnamed.stderr).toContain('selects its Deployments by label (`select:`): name the one to evaluate with --target NAMESPACE/NAME');
    failing.clear();
  }, 120_000);

  it('a selected release open at a restart is resumed, not abandoned', async () => {
    kube.createDeployment(NS, 'billing', 'billing:1', { labels: GUARD });
    const db = path.join(dir, 'decisions.db');
    const rules = RULES.replace('minor: 6s', 'minor: 1h');
    fs.writeFileSync(path.join(dir, 'fleet.yaml'), rules);
    const args = ['--rules', path.join(dir, 'fleet.yaml'), '--prometheus', prom.url, '--kube-server', kube.url, '--db', db, '--interval', '1s'];
    daemon = await startDaemon(args);
    kube.setImage(NS, 'billing', 'billing:2');
    await daemon.waitForLog(/guarding release/);
    await daemon.stop('SIGTERM');
    daemon = await startDaemon(args);
    await daemon.waitForLog(/resumed release from the decision log/);
    expect(rows(db, `SELECT revision, outcome FROM releases WHERE deployment = 'billing' ORDER BY id`)).toEqual([{ revision: '1', outcome: 'superseded' }, { revision: '2', outcome: null }]);
    await daemon.stop('SIGTERM');
    daemon = undefined;
  }, 60_000);

  it('a Deployment a second file selects at run time stays with the first; /health is degraded and names both until one lets go', async () => {
    kube.createDeployment(NS, 'queue', 'queue:1', { labels: GUARD });
    const other = path.join(dir, 'team.yaml');
    fs.writeFileSync(other, RULES.replace('matchLabels: { rollback-guard.io/guard: "true" }', 'matchLabels: { team: payments }'));
    daemon = await startDaemon(['--rules', path.join(dir, 'fleet.yaml'), '--rules', other, '--prometheus', prom.url, '--kube-server', kube.url, '--db', path.join(dir, 'd.db'), '--interval', '1s']);
    const health = async () => (await (await fetch(`${daemon!.url}/health`)).json()) as { status: string; conflicts?: string[]; rulesHashes: Record<string, string> };
    expect((await health()).status).toBe('ok');
    kube.setLabels(NS, 'queue', { app: 'queue', ...GUARD, team: 'payments' });
    await waitFor('the conflict', async () => (await health()).status === 'degraded', 10_000, 50);
    const h = await health();
    expect(h.conflicts).toEqual([`${other}:2:1: \`select:\` matches Deployment ${NS}/queue, which ${path.join(dir, 'fleet.yaml')} guards already: one rules file per Deployment (it stays with ${path.join(dir, 'fleet.yaml')}); narrow one file's \`select:\` or take it out of \`targets:\``]);
    expect(Object.keys(h.rulesHashes)).toContain(`${NS}/queue`);
    kube.setLabels(NS, 'queue', { app: 'queue', ...GUARD });
    await waitFor('the conflict gone', async () => (await health()).status === 'ok', 10_000, 50);
    await daemon.stop('SIGTERM');
    daemon = undefined;
  }, 60_000);

  it('a Deployment two files claim is a load error naming both files: the daemon does not start', async () => {
    kube.createDeployment(NS, 'checkout', 'checkout:1', { labels: GUARD });
    const listed = path.join(dir, 'checkout.yaml');
    fs.writeFileSync(listed, RULES.replace(/select:\n.*\n.*\n/, `target: { namespace: ${NS}, deployment: checkout }\n`));
    const run = await cliAsync(['run', '--rules', listed, '--rules', path.join(dir, 'fleet.yaml'), '--prometheus', prom.url, '--kube-server', kube.url, '--db', path.join(dir, 'd.db'), '--listen', '127.0.0.1:0']);
    expect(run.code, run.stderr).toBe(2); // bad input, as an invalid rules file is
    expect(run.stderr).toContain(`${path.join(dir, 'fleet.yaml')}:2:1: \`select:\` matches Deployment ${NS}/checkout, which ${listed} guards already`);
  }, 60_000);
});
