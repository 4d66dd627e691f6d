/* eslint-disable @typescript-eslint/no-unsafe-member-access -- stand-in objects are raw API JSON */
import fs from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { setReleaseIdentity } from '../../src/adapters/sqlite/rollback-log.js';
import { openDecisionLog } from '../../src/adapters/sqlite/sqlite-decision-store.js';
import { parseRules } from '../../src/core/parse-rules.js';
import { cliAsync } from '../helpers/run-cli-async.js';
import { useKubeStandIn } from '../helpers/kube-fixture.js';
import { useTempDir } from '../helpers/temp-dir.js';

const NS = 'voice-production';
const standIn = useKubeStandIn();
const tmp = useTempDir();

async function setUp() {
  const { kube } = await standIn();
  kube.createDeployment(NS, 'voice-server', 'voice-server:1.0');
  kube.setImage(NS, 'voice-server', 'voice-server:1.1');
  kube.setImage(NS, 'voice-server', 'voice-server:1.2');
  const db = path.join(tmp(), 'decisions.db');
  const rollback = (...args: string[]) => cliAsync(['rollback', `${NS}/voice-server`, '--kube-server', kube.url, '--db', db, '--verify-timeout', '5s', ...args]);
  const rows = () => {
    const d = new Database(db, { readonly: true });
    try {
      return d.prepare('SELECT * FROM rollbacks ORDER BY id').all() as Record<string, unknown>[];
    } finally {
      d.close();
    }
  };
  return { kube, db, rollback, rows };
}

describe('rollback-guard rollback (built binary, Kubernetes stand-in)', () => {
  it('dry run: exit 0, says what it would do, patches nothing, logs it against the release the log knows', async () => {
    const { kube, db, rollback, rows } = await setUp();
    const store = openDecisionLog(db);
    const rules = parseRules("version: 1\ntarget: { namespace: voice-production, deployment: voice-server }\nrules:\n  - { name: r, tier: immediate, query: 'q', above: 1 }\n", 'r.yaml');
    const release = store.startRelease({ namespace: NS, deployment: 'voice-server', startedAt: Date.now(), severity: 'minor', windowMs: 3_600_000, source: 'live' }, rules, {});
    setReleaseIdentity(store.db, release.id, { revision: '3', images: ['voice-server:1.2'] });
    store.close();
    const r = await rollback('--reason', 'CVE-2026-1234 in the TLS library', '--by', 'alice', '--dry-run');
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain(`dry run: would roll back ${NS}/voice-server from revision 3 to revision 2 (voice-server:1.1); nothing patched`);
    expect(kube.deploymentWrites()).toHaveLength(0);
    expect(rows()).toEqual([expect.objectContaining({ outcome: 'would-roll-back', dry_run: 1, by: 'alice', from_revision: '3', to_revision: '2', decision_id: null, release_id: release.id })]);
  });

  it('reverts, verifies the rollout, and logs both; a second one is refused as ping-pong (exit 2)', async () => {
    const { kube, rollback, rows } = await setUp();
    const r = await rollback('--reason', 'CVE-2026-1234', '--by', 'alice');
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain('rolled back voice-production/voice-server from revision 3 to revision 2 (voice-server:1.1)');
    expect(r.stdout).toMatch(/rollback-complete: generation \d+, observed \d+; replicas 3, updated 3, available 3 of 3/);
    const d = kube.deployment(NS, 'voice-server');
    expect(d.metadata.annotations).toMatchObject({ 'rollback-guard.io/rolled-back-by': 'alice', 'rollback-guard.io/rollback-reason': 'CVE-2026-1234' });
    expect(rows()[0]).toMatchObject({ outcome: 'rolled-back', verification: 'rollback-complete', requested_at: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/) });
    const again = await rollback('--reason', 'again', '--by', 'alice');
    expect(again.code).toBe(2);
    expect(again.stderr).toMatch(/refused \(ping-pong\): .*revision 3 is the template the guard itself reverted away from/);
    expect(rows()[1]).toMatchObject({ outcome: 'refused', refusal_code: 'ping-pong' });
  });

  it('a manual rollback shows in log, explain --rollback and report, with who asked and why (issue 19)', async () => {
    const { db, rollback } = await setUp();
    const store = openDecisionLog(db);
    const rules = parseRules("version: 1\ntarget: { namespace: voice-production, deployment: voice-server }\nrules:\n  - { name: r, tier: immediate, query: 'q', above: 1 }\n", 'r.yaml');
    const release = store.startRelease({ namespace: NS, deployment: 'voice-server', startedAt: Date.now() - 60_000, severity: 'minor', windowMs: 3_600_000, source: 'live' }, rules, {});
    setReleaseIdentity(store.db, release.id, { revision: '3', images: ['voice-server:1.2'] });
    store.close();
    expect((await rollback('--reason', 'CVE-2026-1234 in the TLS library', '--by', 'alice')).code).toBe(0);
    expect((await rollback('--reason', 'again', '--by', 'bob')).code).toBe(2); // refused (ping-pong), logged too

    const log = await cliAsync(['log', '--db', db]);
    expect(log.code, log.stderr).toBe(0);
    expect(log.stdout).toMatch(new RegExp(`#${release.id} .* manual rollback #1 by alice`));
    expect(log.stdout).toMatch(/Manual rollbacks \(rollback-guard rollback\):\nROLLBACK +REQUESTED +TARGET +BY +OUTCOME +RELEASE +REASON\n#2 .* voice-production\/voice-server +bob +refused +- +again\n#1 .* alice +rolled-back, rollback-complete +#1 +CVE-2026-1234 in the TLS library/);
    const json = JSON.parse((await cliAsync(['log', '--db', db, '--json'])).stdout) as { manualRollbacks: { id: number; by: string; reason: string; outcome: string }[] }[];
    expect(json[0]!.manualRollbacks).toEqual([expect.objectContaining({ id: 1, by: 'alice', reason: 'CVE-2026-1234 in the TLS library', outcome: 'rolled-back' })]);

    const explained = await cliAsync(['explain', '--rollback', '1', '--db', db]);
    expect(explained.code, explained.stderr).toBe(0);
    expect(explained.stdout).toMatch(/^Manual rollback #1 of voice-production\/voice-server: rolled-back, asked for by alice at \S+\n {2}reason {5}CVE-2026-1234 in the TLS library\n {2}strategy {3}undo\n {2}revision {3}3 -> 2 \(voice-server:1\.1\)\n/);
    expect(explained.stdout).toMatch(/ {2}release {4}#1 voice-production\/voice-server, minor, started \S+, outcome still guarded/);
    expect((await cliAsync(['explain', '--rollback', '9', '--db', db])).stderr).toMatch(/manual rollback 9 is not in/);
    expect((await cliAsync(['explain', '1', '--rollback', '1', '--db', db])).code).toBe(2);

    const html = (await cliAsync(['report', '--release', String(release.id), '--db', db])).stdout;
    expect(html).toMatch(/was rolled back by hand by alice at \S+ \(`rollback-guard rollback`: CVE-2026-1234 in the TLS library\); the rollback was complete \d+\S* after it was asked for\./);
    expect(html).toContain('<td>manual, by alice: CVE-2026-1234 in the TLS library</td>');
  });

  it('refuses a paused Deployment with the reason (exit 2); a rollout that does not complete is exit 1', async () => {
    const { kube, rollback, rows } = await setUp();
    kube.edit(NS, 'voice-server', (d) => (d.metadata.annotations['rollback-guard.io/paused'] = 'true'));
    const r = await rollback('--reason', 'x', '--by', 'alice');
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('refused (guard-paused): voice-production/voice-server: annotated rollback-guard.io/paused: "true"');
    kube.edit(NS, 'voice-server', (d) => delete d.metadata.annotations['rollback-guard.io/paused']);
    kube.rolloutsComplete = false;
    const slow = await rollback('--reason', 'x', '--by', 'alice', '--verify-timeout', '1s');
    expect(slow.code).toBe(1);
    expect(slow.stderr).toMatch(/rollback-failed: not complete within 1000 ms/);
    expect(rows().at(-1)).toMatchObject({ outcome: 'rolled-back', verification: 'rollback-failed' });
  });

  it('usage errors and an unreachable API server are explained (exit 2)', async () => {
    const { rollback } = await setUp();
    expect((await cliAsync(['rollback', 'voice-server', '--reason', 'x', '--db', 'x.db'])).stderr).toContain('is not NAMESPACE/DEPLOYMENT');
    const noDb = await cliAsync(['rollback', `${NS}/voice-server`, '--reason', 'x'], { ROLLBACK_GUARD_DB: '' });
    expect(noDb.code).toBe(2);
    expect(noDb.stderr).toContain('--db FILE (or ROLLBACK_GUARD_DB) is required');
    const down = await rollback('--reason', 'x', '--by', 'alice', '--kube-server', 'http://127.0.0.1:1', '--kube-timeout', '1s');
    expect(down.code).toBe(2);
    expect(down.stderr).toMatch(/rollback failed: .*cannot reach the Kubernetes API: ECONNREFUSED/);
    // No Kubernetes access at all: said, and no decision log left behind.
    const home = tmp();
    const none = await cliAsync(['rollback', `${NS}/voice-server`, '--reason', 'x', '--by', 'alice', '--db', path.join(home, 'rb.db')], { HOME: home, KUBECONFIG: '', KUBERNETES_SERVICE_HOST: '' });
    expect(none.code).toBe(2);
    expect(none.stderr).toContain('set KUBECONFIG, run in-cluster, or pass --kube-server URL');
    expect(fs.existsSync(path.join(home, 'rb.db'))).toBe(false);
  });
});
