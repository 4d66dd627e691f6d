// `rollback-guard test`: rule unit tests evaluated by a real Prometheus (series loaded through its remote-write
// receiver, staleness markers included), through the built CLI.
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { cliAsync } from '../helpers/run-cli-async.js';
import { useTempDir } from '../helpers/temp-dir.js';

const tmp = useTempDir();
const EXAMPLE = 'examples/rule-tests/voice-server.test.yaml';

/** The example, copied beside the shipped rules' path it names, with `edit` applied. */
function variant(edit: (text: string) => string): string {
  const f = path.join(tmp(), 'case.test.yaml');
  fs.writeFileSync(f, edit(fs.readFileSync(EXAMPLE, 'utf8')).replace('rules: ../../rules/voice-server.yaml', `rules: ${path.resolve('rules/voice-server.yaml')}`));
  return f;
}

describe('rollback-guard test', () => {
  it('the shipped rules\' tests pass (the bundled incident and the canary case among them): exit 0, SUCCESS as promtool says it', async () => {
    const r = await cliAsync(['test', EXAMPLE]);
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(r.stdout).toBe(`Unit Testing: ${EXAMPLE}\n  SUCCESS\n`);
  }, 60_000);

  it('examples/rule-kinds: an SLO pair and a canary judge decide on real Prometheus as the README says; a looser SLO does not revert', async () => {
    const r = await cliAsync(['test', 'examples/rule-kinds/rules.test.yaml']);
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(r.stdout).toBe('Unit Testing: examples/rule-kinds/rules.test.yaml\n  SUCCESS\n');
    // 98 % instead of 99 %: the budget doubles, the burn rate halves, and 20 % errors never burn 10x over 10 minutes.
    const dir = tmp();
    fs.writeFileSync(path.join(dir, 'rules.yaml'), fs.readFileSync('examples/rule-kinds/rules.yaml', 'utf8').replace('objective: 99\n', 'objective: 98\n'));
    fs.copyFileSync('examples/rule-kinds/rules.test.yaml', path.join(dir, 'kinds.test.yaml'));
    const loose = await cliAsync(['test', path.join(dir, 'kinds.test.yaml')]);
    expect(loose.code).toBe(1);
    expect(loose.stdout).toMatch(/expected: rollback availability:10m-1m at 37m15s\n\s+got:\s+promote \(no rule\) at 45m/);
  }, 120_000);

  it('a wrong expectation fails (exit 1) and shows what was expected and what the rules decided', async () => {
    const f = variant((t) => t.replace('at: 37m }', 'at: 36m }'));
    const r = await cliAsync(['test', f]);
    expect(r.code).toBe(1);
    expect(r.stdout).toBe(`Unit Testing: ${f}\n  FAILED:\n    test: a release whose error rate jumps to 20 % is reverted after the one-minute hold\n      expected: rollback error-rate-critical at 36m\n      got:      rollback error-rate-critical at 37m\n`);
    // Without the error jump nothing is decided before `until` (the window runs on): "no decision".
    const healthy = variant((t) => t.replace("'0+1.5x140 210+120x40'", "'0+1.5x180'"));
    const h = await cliAsync(['test', healthy]);
    expect(h.stdout).toContain('      expected: rollback error-rate-critical at 37m\n      got:      no decision\n');
  }, 60_000);

  it('`stale` ends a series at once (the outage is seen then); a missing sample leaves the last value for the 5-minute lookback', async () => {
    // No error jump this time; up stops at 40m15s (sample 161).
    const outage = (values: string) => variant((t) => t.replace("'0+1.5x140 210+120x40'", "'0+1.5x180'").replace("'1x180'", `'${values}'`).replace('until: 45m', 'until: 50m'));
    const stale = await cliAsync(['test', outage('1x160 stale')]);
    const gone = await cliAsync(['test', outage('1x160 _x20')]);
    // With a staleness marker, no data from 40m15s (complete-outage has noData: breach, held 1m)...
    expect(stale.stdout).toContain('      got:      rollback complete-outage at 41m15s\n');
    // ...with missing samples, the last one answers for 5 more minutes.
    expect(gone.stdout).toContain('      got:      rollback complete-outage at 46m15s\n');
  }, 60_000);

  it('bad input is exit 2 naming the file and the place', async () => {
    const stale = variant((t) => t.replace("'1x180'", "'1x100 stale+1x3'"));
    const r = await cliAsync(['test', stale]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(`${stale}: tests[0].series[2] (test "a release whose error rate jumps to 20 % is reverted after the one-minute hold"): "stale+1x3" is not a value`);
    const badKey = variant((t) => t.replace('release: { at: 30m, severity: minor }', 'release: { at: soon, severity: minor }'));
    const k = await cliAsync(['test', badKey]);
    expect(k.code).toBe(2);
    expect(k.stderr).toContain(`${badKey}: tests[0].release.at: must be a duration like 90s, 15m or 1h`);
    const noTool = await cliAsync(['test', EXAMPLE], { PROMETHEUS_BIN: '', PATH: '/nonexistent' });
    expect(noTool.code).toBe(2);
    expect(noTool.stderr).toContain('rule tests evaluate PromQL with a real Prometheus, and prometheus is not installed: install Prometheus 2.33 or later');
  }, 60_000);
});
