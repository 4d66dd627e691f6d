// Part 3 of issue 19, a security review kept as a test: the API compares tokens in constant time, refuses bodies
// over a small limit and fields it does not know; a rules file cannot make the guard read a file (checked by
// Node's permission model, which denies every read not allowed); hostile rules files (deep nesting, an alias
// bomb, a huge file) are refused with a clear error. README: What the daemon trusts.
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MAX_BODY_BYTES, sameSecret } from '../../src/adapters/http-api/approval-handler.js';
import { startDaemon, type DaemonProcess } from '../helpers/daemon-process.js';
import { cliAsync } from '../helpers/run-cli-async.js';
import { useTempDir } from '../helpers/temp-dir.js';

const tmp = useTempDir();
const TOKEN = 'a-long-api-token-for-the-security-review-0123456789';

describe('the API', () => {
  let daemon: DaemonProcess;
  beforeAll(async () => {
    daemon = await startDaemon(['--rules', 'rules/voice-server.yaml', '--prometheus', 'http://127.0.0.1:9', '--db', path.join(tmp(), 'd.db'), '--no-kubernetes'], { ROLLBACK_GUARD_API_TOKEN: TOKEN, SLACK_SIGNING_SECRET: 'signing-secret' });
  }, 30_000);
  afterAll(async () => {
    await daemon?.stop('SIGTERM');
  });
  const post = async (p: string, body: string, token = TOKEN, type = 'application/json') => {
    const res = await fetch(daemon.url + p, { method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': type }, body });
    return { status: res.status, text: await res.text() };
  };
  const ENDPOINTS = ['/v1/decisions/1/approve', '/v1/triggers'];

  it('tokens: one comparison for every endpoint, of SHA-256 digests in constant time (no length or prefix leak)', async () => {
    // A raw timingSafeEqual throws on buffers of different lengths, and a === stops at the first difference:
    // digests of equal length are compared whatever was sent.
    expect(() => sameSecret('a', TOKEN)).not.toThrow();
    expect([sameSecret(TOKEN, TOKEN), sameSecret(TOKEN.slice(0, -1), TOKEN), sameSecret(`${TOKEN}x`, TOKEN), sameSecret('', '')]).toEqual([true, false, false, false]);
    for (const file of ['src/adapters/http-api/approval-handler.ts', 'src/daemon/http-server.ts', 'src/adapters/http-api/slack-interactions-handler.ts']) {
      const src = fs.readFileSync(file, 'utf8');
      expect(src, file).not.toMatch(/(token|secret|expected|given|got|sig)\w*\s*[!=]==?\s*\w*(token|secret|expected|given|got|sig)/i);
    }
    const timingSafe = fs.readFileSync('src/adapters/http-api/approval-handler.ts', 'utf8');
    expect(timingSafe).toMatch(/createHash\('sha256'\)\.update\(given\)[\s\S]*createHash\('sha256'\)\.update\(expected\)[\s\S]*timingSafeEqual\(a, b\)/);
    expect(fs.readFileSync('src/daemon/http-server.ts', 'utf8')).toMatch(/sameSecret\(got, token\)/);
    for (const p of ENDPOINTS) {
      for (const wrong of ['x', TOKEN.slice(0, -1), `${TOKEN}x`, TOKEN.toUpperCase()]) expect((await post(p, '{}', wrong)).status, `${p} with ${wrong}`).toBe(401);
    }
  });

  it(`bodies over ${MAX_BODY_BYTES} bytes are refused with 413, before anything is looked up`, async () => {
    const big = JSON.stringify({ by: 'alice', reason: 'x'.repeat(MAX_BODY_BYTES) });
    for (const p of ENDPOINTS) {
      const r = await post(p, big);
      expect(r.status, `${p}: ${r.text}`).toBe(413);
      expect(r.text).toMatch(/over 8192 bytes/);
    }
    const slack = await fetch(`${daemon.url}/v1/slack/interactions`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: 'payload=' + 'x'.repeat(70_000) });
    expect(slack.status).toBe(413);
  });

  it('unknown fields are refused with 400 naming them (a typo is never ignored)', async () => {
    const approve = await post('/v1/decisions/1/approve', JSON.stringify({ by: 'alice', reasn: 'typo', admin: true }));
    expect(approve).toEqual({ status: 400, text: expect.stringContaining('unknown fields \\"reasn\\", \\"admin\\"; the body takes \\"by\\" and \\"reason\\" only') });
    const trigger = await post('/v1/triggers', JSON.stringify({ target: 'voice-production/voice-server', tier: 'immediate', reason: 'CVE', by: 'alice', force: true }));
    expect(trigger).toEqual({ status: 400, text: expect.stringContaining('unknown field \\"force\\"') });
    expect((await post('/v1/triggers', '{not json')).status).toBe(400);
  });
});

describe('rules files', () => {
  const write = (name: string, text: string) => {
    const f = path.join(tmp(), name);
    fs.writeFileSync(f, text);
    return f;
  };
  const check = (file: string, nodeArgs: string[] = []) => cliAsync(['check', file], {}, nodeArgs);

  it('a deep nesting, an alias bomb and a huge file are refused (exit 1) with a clear error', async () => {
    const deep = await check(write('deep.yaml', `version: 1\nrules: ${'['.repeat(20_000)}${']'.repeat(20_000)}\n`));
    expect(deep.code).toBe(1);
    expect(deep.stderr).toMatch(/deep\.yaml:\d+:\d+: YAML nested too deeply for a rules file/);
    let bomb = 'version: 1\na: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]\n';
    for (let i = 1; i < 10; i++) bomb += `${'abcdefghij'[i]}: &${'abcdefghij'[i]} [${Array(9).fill(`*${'abcdefghij'[i - 1]}`).join(',')}]\n`;
    const aliases = await check(write('bomb.yaml', bomb));
    expect(aliases.code, aliases.stderr).toBe(1);
    expect(aliases.stderr).toMatch(/bomb\.yaml:1:1: YAML aliases expand too much/);
    const huge = await check(write('huge.yaml', `version: 1\ntarget: { namespace: a, deployment: b }\nrules:\n  - { name: r, tier: immediate, query: "${'x'.repeat(2 * 1024 * 1024)}", above: 1 }\n`));
    expect(huge.code).toBe(1);
    expect(huge.stderr).toMatch(/huge\.yaml:1:1: the file is 2\.0 MiB; a rules file may be at most 1 MiB/);
  }, 60_000);

  it('nothing in a rules file makes the guard read a file: `check` passes under a permission model that allows reading only the program and the rules file', async () => {
    const flag = process.allowedNodeEnvironmentFlags.has('--permission') ? '--permission' : '--experimental-permission';
    const allow = (f: string) => `--allow-fs-read=${f}`;
    const program = [allow(path.resolve('bin') + '/*'), allow(path.resolve('dist') + '/*'), allow(path.resolve('node_modules') + '/*'), allow(path.resolve('package.json'))];
    // Every string a path could hide in: queries, descriptions, templates, URLs, names of secrets.
    const hostile = write('hostile.yaml', `version: 1
target: { namespace: voice-production, deployment: voice-server }
baselines:
  b: { query: 'up{file="/etc/shadow"}' }
rules:
  - { name: r, tier: immediate, query: 'up{path="../../etc/passwd"}', above: 1, description: '/etc/passwd' }
notifications:
  levels: [{ level: 1, pagerduty: ETC_PASSWD }]
  templates: { ROLLBACK_START: '{/etc/passwd}' }
  slack: { apiUrl: 'https://slack.example.com/api/' }
  pagerduty: { server: '/etc/passwd' }
`);
    const ok = await check(hostile, [flag, ...program, allow(hostile)]);
    expect(ok.code, ok.stderr).toBe(0);
    expect(ok.stderr).not.toMatch(/ERR_ACCESS_DENIED/);
    // The model does deny: the same check may not read a rules file it was not allowed.
    const denied = await check(hostile, [flag, ...program]);
    expect(denied.code).not.toBe(0);
    expect(denied.stderr).toMatch(/ERR_ACCESS_DENIED|permission/i);
    // And a file: URL is not an endpoint.
    const fileUrl = await check(write('file-url.yaml', fs.readFileSync(hostile, 'utf8').replace("'https://slack.example.com/api/'", "'file:///etc/passwd'")));
    expect(fileUrl.code).toBe(1);
    expect(fileUrl.stderr).toMatch(/`notifications\.slack\.apiUrl` must be an http:\/\/ or https:\/\/ URL/);
  }, 60_000);
});
