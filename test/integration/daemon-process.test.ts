// `rollback-guard run` as a separate process: configuration errors, HTTP endpoints, the trigger API's answers,
// hot reload of the rules file, and a clean exit on SIGTERM.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import { startDaemon, type DaemonProcess } from '../helpers/daemon-process.js';
import { waitFor } from '../helpers/free-port.js';
import { BIN, cli } from '../helpers/run-cli.js';
import { cliAsync } from '../helpers/run-cli-async.js';
import { shippedRules } from '../helpers/shipped-rules.js';
import { useTempDir } from '../helpers/temp-dir.js';

const tmp = useTempDir();
let running: DaemonProcess | undefined;
afterEach(async () => {
  await running?.stop('SIGKILL');
  running = undefined;
});

function rulesCopy(): string {
  const f = path.join(tmp(), 'rules.yaml');
  fs.writeFileSync(f, shippedRules());
  return f;
}

describe('rollback-guard run', () => {
  it.each([
    ['no rules', ['--prometheus', 'http://127.0.0.1:9'], /no rules file: pass --rules FILE/],
    ['no Prometheus', ['--rules', 'rules/voice-server.yaml'], /no Prometheus: pass --prometheus URL/],
    ['an interval cron cannot express', ['--rules', 'rules/voice-server.yaml', '--prometheus', 'http://127.0.0.1:9', '--interval', '7s'], /evaluation interval 7s cannot be scheduled/],
    ['a bad listen address', ['--rules', 'rules/voice-server.yaml', '--prometheus', 'http://127.0.0.1:9', '--listen', 'everywhere'], /is not HOST:PORT/],
    ['an invalid rules file', ['--rules', 'package.json', '--prometheus', 'http://127.0.0.1:9'], /package.json: \d+ problems? in the rules file/],
  ])('fails at start with a clear message and exit 2: %s', (_n, args, message) => {
    const r = cli('run', ...args);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(message);
  });

  it('a PAGERDUTY_CA_FILE that cannot be read: exit 2 naming it (run and notify --test), not an internal error', async () => {
    const env = { PAGERDUTY_CA_FILE: path.join(tmp(), 'not-mounted.pem') };
    const run = await cliAsync(['run', '--rules', 'rules/voice-server.yaml', '--prometheus', 'http://127.0.0.1:9', '--no-kubernetes', '--db', path.join(tmp(), 'd.db')], env);
    const notify = await cliAsync(['notify', '--test', '--rules', 'rules/voice-server.yaml'], env);
    for (const r of [run, notify]) {
      expect(r.code, r.stderr).toBe(2);
      expect(r.stderr).toContain(`cannot read PAGERDUTY_CA_FILE (${env.PAGERDUTY_CA_FILE}): ENOENT; point it at a PEM file`);
    }
  });

  it('serves /health, /ready and /metrics, and exits 0 on SIGTERM', async () => {
    const db = path.join(tmp(), 'd.db');
    running = await startDaemon(['--rules', 'rules/voice-server.yaml', '--prometheus', 'http://127.0.0.1:9', '--db', db, '--interval', '1s', '--no-kubernetes']);
    const health = (await (await fetch(`${running.url}/health`)).json()) as Record<string, unknown>;
    expect(health).toMatchObject({ status: 'ok', version: (JSON.parse(fs.readFileSync('package.json', 'utf8')) as { version: string }).version, leader: true, activeReleases: [], lastSuccessfulPoll: null });
    expect(Object.keys(health.rulesHashes as object)).toEqual(['voice-production/voice-server', 'voice-production/voice-server-canary']);
    const metrics = await (await fetch(`${running.url}/metrics`)).text();
    for (const m of ['rollback_guard_ticks_total', 'rollback_guard_tick_duration_seconds_bucket', 'rollback_guard_active_releases 0', 'rollback_guard_process_resident_memory_bytes']) expect(metrics).toContain(m);
    expect((await fetch(`${running.url}/nope`)).status).toBe(404);
    // Event-loop delay: prom-client's names, once each, sampled every 100 ms with the period taken out (ADR 0009):
    // an idle loop reads close to 0, not 0.1 s.
    const stats = ['min', 'max', 'mean', 'stddev', 'p50', 'p90', 'p99'];
    for (const st of stats) expect(metrics.split('\n').filter((l) => l === `# TYPE rollback_guard_nodejs_eventloop_lag_${st}_seconds gauge`)).toHaveLength(1);
    const lag = async (st: string) => Number(new RegExp(`^rollback_guard_nodejs_eventloop_lag_${st}_seconds (\\S+)$`, 'm').exec(await (await fetch(`${running!.url}/metrics`)).text())![1]);
    await waitFor('a window of event-loop delay samples', async () => (await lag('max')) > 0, 5_000, 300);
    expect(await lag('p50')).toBeLessThan(0.05);
    expect(await running.stop('SIGTERM')).toBe(0);
    expect(running.logs.map((l) => l.msg)).toContain('stopped');
    expect(fs.existsSync(db)).toBe(true);
  });

  it('the trigger API: 403 without a configured token, 401 with a wrong one, 400 on a bad body, 409 with no release guarded', async () => {
    running = await startDaemon(['--rules', 'rules/voice-server.yaml', '--prometheus', 'http://127.0.0.1:9', '--db', path.join(tmp(), 'd.db'), '--no-kubernetes']);
    const post = (body: unknown, token?: string) =>
      fetch(`${running!.url}/v1/triggers`, { method: 'POST', headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) }, body: JSON.stringify(body) });
    expect((await post({})).status).toBe(403);
    await running.stop('SIGKILL');
    const tokenFile = path.join(tmp(), 'token');
    fs.writeFileSync(tokenFile, 'letmein\n');
    running = await startDaemon(['--rules', 'rules/voice-server.yaml', '--prometheus', 'http://127.0.0.1:9', '--db', path.join(tmp(), 'd.db'), '--no-kubernetes'], { ROLLBACK_GUARD_API_TOKEN_FILE: tokenFile });
    expect((await post({}, 'wrong')).status).toBe(401);
    expect((await post({ target: 'x' }, 'letmein')).status).toBe(400);
    const r = await post({ target: 'voice-production/voice-server', tier: 'immediate', reason: 'CVE', by: 'alice' }, 'letmein');
    expect(r.status).toBe(409);
    expect(((await r.json()) as { error: string }).error).toMatch(/no release of voice-production\/voice-server is being guarded/);
  });

  it('no Kubernetes access (not a pod, no KUBECONFIG, no ~/.kube/config): exit 2 saying so, not a silent localhost:8080', async () => {
    const home = tmp();
    const r = await cliAsync(['run', '--rules', 'rules/voice-server.yaml', '--prometheus', 'http://127.0.0.1:9', '--db', path.join(home, 'd.db'), '--listen', '127.0.0.1:0'], { HOME: home, KUBECONFIG: '', KUBERNETES_SERVICE_HOST: '' });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(`this is not a pod, KUBECONFIG is not set and ${home}/.kube/config does not exist`);
    expect(r.stderr).toContain('--no-kubernetes');
  });

  it('a port in use, or an address the host does not have: exit 2 naming the setting, not an internal error', async () => {
    const busy = net.createServer();
    await new Promise<void>((r) => busy.listen(0, '127.0.0.1', r));
    try {
      const port = (busy.address() as net.AddressInfo).port;
      const args = (listen: string) => ['run', '--rules', 'rules/voice-server.yaml', '--prometheus', 'http://127.0.0.1:9', '--no-kubernetes', '--db', path.join(tmp(), 'd.db'), '--listen', listen];
      const inUse = await cliAsync(args(`127.0.0.1:${port}`));
      expect(inUse.code).toBe(2);
      expect(inUse.stderr).toContain(`rollback-guard: error: cannot listen on 127.0.0.1:${port} (--listen / ROLLBACK_GUARD_LISTEN): EADDRINUSE: the port is already in use`);
      const noSuchAddress = await cliAsync(args('192.0.2.1:8080')); // TEST-NET-1: never a local address
      expect(noSuchAddress.code).toBe(2);
      expect(noSuchAddress.stderr).toContain('EADDRNOTAVAIL: this host has no such address');
    } finally {
      busy.close();
    }
  });

  it("an old default log (rollback-guard.db) beside no --db: refused, never a silent new empty log", () => {
    const dir = tmp();
    new Database(path.join(dir, 'rollback-guard.db')).close();
    const r = spawnSync(process.execPath, [path.resolve(BIN), 'run', '--rules', path.resolve('rules/voice-server.yaml'), '--prometheus', 'http://127.0.0.1:9', '--no-kubernetes', '--listen', '127.0.0.1:0'], { cwd: dir, encoding: 'utf8', env: { ...process.env, ROLLBACK_GUARD_DB: '' }, timeout: 30_000 });
    expect(r.status).toBe(2);
    expect(r.stderr).toContain('rollback-guard.db is here, but the default decision log is now decisions.db: pass --db rollback-guard.db');
    expect(fs.existsSync(path.join(dir, 'decisions.db'))).toBe(false);
    // An empty ROLLBACK_GUARD_DB is no log at all, never SQLite's private temporary one.
    const named = spawnSync(process.execPath, [path.resolve(BIN), 'log'], { cwd: dir, encoding: 'utf8', env: { ...process.env, ROLLBACK_GUARD_DB: '' }, timeout: 30_000 });
    expect(named.stderr).toContain('no decision log given: --db (or ROLLBACK_GUARD_DB) is empty');
  });

  it('two rules files naming different PagerDuty servers: exit 2 naming the file, the line and both values', () => {
    const a = path.join(tmp(), 'voice.yaml');
    const b = path.join(tmp(), 'text.yaml');
    fs.writeFileSync(a, shippedRules());
    const text = shippedRules('text-server').concat("notifications:\n  pagerduty: { server: 'events.eu.pagerduty.com' }\n");
    fs.writeFileSync(b, text);
    const line = text.split('\n').findIndex((l) => l.includes('events.eu.pagerduty.com')) + 1;
    const r = cli('run', '--rules', a, '--rules', b, '--prometheus', 'http://127.0.0.1:9', '--no-kubernetes', '--db', path.join(tmp(), 'd.db'));
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(`${b}:${line}:1: notifications.pagerduty.server is events.eu.pagerduty.com here but events.pagerduty.com in ${a}`);
  });

  it('hot reload of a ConfigMap volume: every update (a swap of the `..data` symlink, as the kubelet does it) is taken', async () => {
    const dir = tmp();
    const version = (n: number, threshold: string) => {
      const d = path.join(dir, `..2026_12_04_20_00_0${n}.000${n}`);
      fs.mkdirSync(d);
      fs.writeFileSync(path.join(d, 'rules.yaml'), fs.readFileSync('rules/voice-server.yaml', 'utf8').replace('above: 0.05', `above: ${threshold}`));
      return path.basename(d);
    };
    fs.symlinkSync(version(0, '0.05'), path.join(dir, '..data'));
    fs.symlinkSync('..data/rules.yaml', path.join(dir, 'rules.yaml'));
    running = await startDaemon(['--rules', path.join(dir, 'rules.yaml'), '--prometheus', 'http://127.0.0.1:9', '--db', path.join(tmp(), 'd.db'), '--no-kubernetes']);
    const hash = async () => ((await (await fetch(`${running!.url}/health`)).json()) as { rulesHashes: Record<string, string> }).rulesHashes['voice-production/voice-server'];
    const hashes = [await hash()];
    for (const [n, threshold] of [[1, '0.06'], [2, '0.07'], [3, '0.08']] as const) {
      // The kubelet's atomic update: a new timestamped directory, `..data_tmp` pointing at it, renamed over `..data`.
      fs.symlinkSync(version(n, threshold), path.join(dir, '..data_tmp'));
      fs.renameSync(path.join(dir, '..data_tmp'), path.join(dir, '..data'));
      await waitFor(`update ${n} taken`, async () => !hashes.includes(await hash()), 10_000, 100);
      hashes.push(await hash());
    }
    expect(new Set(hashes).size).toBe(4);
    expect(running.logs.filter((l) => l.msg === 'rules reloaded')).toHaveLength(3);
  });

  it('hot reload: an invalid rules file is rejected and the running rules stay; a valid change (or SIGHUP) is taken', async () => {
    const rules = rulesCopy();
    running = await startDaemon(['--rules', rules, '--prometheus', 'http://127.0.0.1:9', '--db', path.join(tmp(), 'd.db'), '--no-kubernetes']);
    const before = ((await (await fetch(`${running.url}/health`)).json()) as { rulesHashes: Record<string, string> }).rulesHashes['voice-production/voice-server'];
    fs.writeFileSync(rules, 'version: 1\nrules: [\n');
    const rejected = await running.waitForLog(/rules reload rejected/);
    expect(String(rejected.error)).toMatch(/YAML syntax/);
    type Health = { status: string; rulesHashes: Record<string, string>; rulesReload: { status: string; error?: string } };
    const health = async () => (await (await fetch(`${running!.url}/health`)).json()) as Health;
    const whileRejected = await health();
    expect(whileRejected.rulesHashes['voice-production/voice-server']).toBe(before);
    // The file on disk is not what runs: said by /health and /metrics until a reload succeeds.
    expect(whileRejected).toMatchObject({ status: 'degraded', rulesReload: { status: 'rejected', error: expect.stringMatching(/YAML syntax/) } });
    expect(await (await fetch(`${running.url}/metrics`)).text()).toMatch(/^rollback_guard_rules_reload_rejected 1$/m);
    fs.writeFileSync(rules, fs.readFileSync('rules/voice-server.yaml', 'utf8').replace('above: 0.05', 'above: 0.04'));
    await running.waitForLog(/rules reloaded/);
    const afterReload = await health();
    expect(afterReload.rulesHashes['voice-production/voice-server']).not.toBe(before);
    expect(afterReload).toMatchObject({ status: 'ok', rulesReload: { status: 'ok' } });
    expect(await (await fetch(`${running.url}/metrics`)).text()).toMatch(/^rollback_guard_rules_reload_rejected 0$/m);
    running.child.kill('SIGHUP');
    await new Promise((r) => setTimeout(r, 300));
    expect(running.logs.some((l) => l.msg === 'rules reloaded' && l.why === 'SIGHUP')).toBe(true);
  });
});
