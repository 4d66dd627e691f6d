import fs from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { cli } from '../helpers/run-cli.js';
import { useTempDir } from '../helpers/temp-dir.js';

const tmp = useTempDir();
const RULES = 'rules/voice-server.yaml';
const REC = 'examples/bad-release/recording.json';
const AT = '2026-11-20T14:00:00Z';

describe('rollback-guard CLI (built binary)', () => {
  it('--help lists the commands; --version prints package.json version', () => {
    const help = cli('--help');
    expect(help.code).toBe(0);
    for (const c of ['check', 'schema', 'replay']) expect(help.stdout).toContain(c);
    const v = cli('--version');
    expect(v.stdout.trim()).toBe((JSON.parse(fs.readFileSync('package.json', 'utf8')) as { version: string }).version);
  });

  it('an unknown command or option is a usage error: exit 2', () => {
    expect(cli('frobnicate').code).toBe(2);
    const r = cli('replay', '--rules', RULES);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/--release-at is required .*or --from-log FILE --release ID/);
  });

  describe('check', () => {
    it('exit 0 and one summary line per valid file', () => {
      const r = cli('check', RULES);
      expect(r.code).toBe(0);
      expect(r.stdout.trim()).toBe(`${RULES}: OK: 13 rules (5 immediate, 8 considered; 2 SLO window pairs counted as rules), 2 baselines\n  16 of 16 per-target rule queries sent once for all 2 targets`);
    });
    it('exit 1, a FAILED line, and each problem with file:line:column', () => {
      const bad = path.join(tmp(), 'bad.yaml');
      fs.writeFileSync(bad, "version: 1\ntarget: { namespace: a, deployment: b }\nrules:\n  - { name: x, tier: immediate, query: 'up', above: 1, for: soon }\n");
      const r = cli('check', RULES, bad);
      expect(r.code).toBe(1);
      expect(r.stdout).toContain(`${RULES}: OK`);
      expect(r.stdout).toContain(`${bad}: FAILED: 1 problem`);
      expect(r.stderr).toContain(`${bad}:4:61: rule "x": \`for\` is not a duration`);
    });
    it('an interval run could not schedule: check and run refuse it at its line; replay, which uses its data\'s step, takes it', () => {
      const odd = path.join(tmp(), 'odd.yaml');
      fs.writeFileSync(odd, fs.readFileSync(RULES, 'utf8').replace(/^interval: 15s/m, 'interval: 7s'));
      const line = fs.readFileSync(odd, 'utf8').split('\n').findIndex((l) => l.startsWith('interval:')) + 1;
      const checked = cli('check', odd);
      expect(checked.code).toBe(1);
      expect(checked.stderr).toContain(`${odd}:${line}:11: \`interval\` 7s cannot be scheduled on the clock grid by \`run\`: use a number of seconds that divides a minute`);
      const run = cli('run', '--rules', odd, '--prometheus', 'http://127.0.0.1:9', '--no-kubernetes', '--db', path.join(tmp(), 'd.db'));
      expect(run.code).toBe(2);
      expect(run.stderr).toContain(`${odd}:${line}:11: \`interval\` 7s cannot be scheduled`);
      expect(cli('replay', '--rules', odd, '--recording', REC, '--release-at', AT).code).toBe(0);
    });
    it('a missing file fails with a clear line', () => {
      const r = cli('check', 'nope.yaml');
      expect(r.code).toBe(1);
      expect(r.stderr).toContain('nope.yaml:1:1: cannot read the rules file: the file does not exist');
    });
  });

  it('schema prints a JSON Schema that accepts the shipped rules structure', () => {
    const r = cli('schema');
    expect(r.code).toBe(0);
    const s = JSON.parse(r.stdout) as { $schema: string; properties: Record<string, unknown>; required: string[] };
    expect(s.$schema).toContain('json-schema.org');
    expect(Object.keys(s.properties)).toEqual(['version', 'target', 'targets', 'select', 'interval', 'evaluationOffset', 'recovery', 'giveUpAfter', 'windows', 'baselines', 'escalation', 'notifications', 'rules']);
    expect(s.required).toEqual(expect.arrayContaining(['version', 'rules'])); // target: or targets:, checked by `check`
  });

  describe('replay', () => {
    it('the bundled bad release: pages on the TTFA regression, then rolls back on the 7 % error rate', () => {
      const r = cli('replay', '--rules', RULES, '--recording', REC, '--release-at', AT, '--json');
      expect(r.code, r.stderr).toBe(0);
      const out = JSON.parse(r.stdout) as { release: { outcome: string }; decisions: Record<string, unknown>[] };
      expect(out.release.outcome).toBe('rolled-back');
      expect(out.decisions.map((d) => [d.action, d.rule, d.tier, d.mode])).toEqual([
        ['page', 'ttfa-regression', 'considered', 'enforce'],
        ['rollback', 'error-rate-critical', 'immediate', 'enforce'],
      ]);
      const rollback = out.decisions[1]!;
      expect(rollback.at).toBe('2026-11-20T14:33:45Z');
      expect(rollback.threshold).toBe(0.05);
      expect(rollback.value as number).toBeGreaterThan(0.05);
      expect(out.decisions[0]).toMatchObject({ level: 1, at: expect.stringMatching(/^2026-11-20T14:2\d:\d\dZ$/) });
    });

    it('prints a readable timeline and writes the decision log with --db', () => {
      const db = path.join(tmp(), 'decisions.db');
      const r = cli('replay', '--rules', RULES, '--recording', REC, '--release-at', AT, '--db', db);
      expect(r.code, r.stderr).toBe(0);
      expect(r.stdout).toMatch(/ROLLBACK\s+error-rate-critical\s+immediate/);
      expect(r.stdout).toContain('Outcome: ROLL BACK at 2026-11-20T14:33:45Z');
      expect(r.stdout).toContain(`Decision log: ${db} (created; release #1)`);
      const d = new Database(db, { readonly: true });
      expect(d.prepare('SELECT action, rule FROM decisions ORDER BY id').all()).toEqual([
        { action: 'page', rule: 'ttfa-regression' },
        { action: 'rollback', rule: 'error-rate-critical' },
      ]);
      expect(d.prepare('SELECT outcome FROM releases').pluck().get()).toBe('rolled-back');
      expect(d.prepare('SELECT count(*) FROM evaluations').pluck().get()).toBe(11 * 136); // the 9 rules for voice-server and the availability SLO's 2 window pairs
      d.close();
    });

    it('a healthy stretch of the same data is promoted at the window end (hotfix window, --until)', () => {
      const r = cli('replay', '--rules', RULES, '--recording', REC, '--release-at', '2026-11-20T13:00:00Z', '--severity', 'hotfix', '--json');
      expect(r.code, r.stderr).toBe(0);
      const out = JSON.parse(r.stdout) as { decisions: { action: string; at: string }[] };
      expect(out.decisions.map((d) => [d.action, d.at])).toEqual([['promote', '2026-11-20T13:15:00Z']]);
    });

    it.each([
      ['missing recording', ['--recording', 'nope.json'], /recording nope.json does not exist/],
      ['malformed recording', ['--recording', 'package.json'], /recording package.json: version: expected 1/],
      ['missing rules', ['--rules', 'nope.yaml'], /nope.yaml: 1 problem in the rules file/],
      ['bad --release-at', ['--release-at', 'yesterday'], /--release-at "yesterday" is not an RFC 3339 time/],
      ['impossible --release-at (never rolled over to March)', ['--release-at', '2026-02-30T14:00:00Z'], /--release-at "2026-02-30T14:00:00Z" is not a real date and time \(2026-02 has 28 days\)/],
      ['bad --severity', ['--severity', 'huge'], /--severity "huge" is not a release severity; use one of hotfix, minor, major, infrastructure/],
      ['release after the data', ['--release-at', '2027-01-01T00:00:00Z'], /is after the end of recording .* \(2026-11-20T15:00:00Z\); nothing to replay/],
      // Not a rollback invented from "no data" where nothing was recorded.
      ['release before the data', ['--release-at', '2026-11-20T10:00:00Z'], /--release-at 2026-11-20T10:00:00Z is before the start of recording .*: the release's baselines and first instants were not recorded/],
    ])('%s: a clear error and exit 2', (_n, override, message) => {
      const args = { '--rules': RULES, '--recording': REC, '--release-at': AT } as Record<string, string>;
      for (let i = 0; i < override.length; i += 2) args[override[i]!] = override[i + 1]!;
      const r = cli('replay', ...Object.entries(args).flat());
      expect(r.code).toBe(2);
      expect(r.stderr).toMatch(message);
      expect(r.stderr).toMatch(/^rollback-guard: error: /);
    });

    it('a not-JSON recording: exit 2', () => {
      const bad = path.join(tmp(), 'r.json');
      fs.writeFileSync(bad, '{"version": 1,');
      const r = cli('replay', '--rules', RULES, '--recording', bad, '--release-at', AT);
      expect(r.code).toBe(2);
      expect(r.stderr).toContain('is not valid JSON');
    });

    it('queries missing from the recording are warned about and evaluate as errors, not as healthy', () => {
      const rec = JSON.parse(fs.readFileSync(REC, 'utf8')) as { queries: Record<string, unknown> };
      const q = 'sum by (namespace, deployment) (up{namespace="voice-production", deployment="voice-server"})'; // complete-outage, bound for voice-server
      delete rec.queries[q];
      const f = path.join(tmp(), 'partial.json');
      fs.writeFileSync(f, JSON.stringify(rec));
      const db = path.join(tmp(), 'd.db');
      const r = cli('replay', '--rules', RULES, '--recording', f, '--release-at', AT, '--db', db);
      expect(r.code).toBe(0);
      expect(r.stderr).toContain(`rule complete-outage: ${q}`);
      const d = new Database(db, { readonly: true });
      expect(d.prepare(`SELECT DISTINCT verdict FROM evaluations WHERE rule = 'complete-outage'`).pluck().all()).toEqual(['error']);
      d.close();
    });
  });
});
