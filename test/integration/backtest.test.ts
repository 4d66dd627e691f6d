// `rollback-guard backtest` through the built CLI against a real Prometheus (the history backfilled with promtool):
// past releases from a decision log (real SQLite), from ReplicaSet history on the Kubernetes stand-in and from a
// list, judged against what happened (an agreement, an earlier catch, a false revert and a miss each shown), and
// with --against, what a candidate rules file decides differently.
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openDecisionLog } from '../../src/adapters/sqlite/sqlite-decision-store.js';
import { parseRules } from '../../src/core/parse-rules.js';
import { KubeStandIn } from '../helpers/kube-stand-in.js';
import { disposePrometheus, startPrometheus, type PrometheusServer } from '../helpers/prometheus-server.js';
import { cliAsync } from '../helpers/run-cli-async.js';
import { useTempDir } from '../helpers/temp-dir.js';

const tmp = useTempDir();
const NS = 'shop';
/** Release starts, on the grid, well in the past (a backtest reads history). */
const T0 = Math.floor((Date.now() - 6 * 3600_000) / 3600_000) * 3600_000;
const start = (i: number) => T0 + i * 3600_000;

/** Each Deployment's error ratio after its release start: from when on (minutes), and how bad. */
const BEHAVIOUR: Record<string, { from: number; ratio: number } | null> = {
  bad: { from: 1, ratio: 0.2 }, // reverted by the guard 2 minutes in (breaching from 1m, held 1m)
  good: null,
  noisy: { from: 2, ratio: 0.02 }, // kept: 2 % never reached the current 5 %
  slow: { from: 8, ratio: 0.08 }, // reverted by a person at 20 minutes
  quiet: null, // reverted by a person at 10 minutes for what no metric shows (user complaints)
};
const ORDER = Object.keys(BEHAVIOUR);

/** Each Deployment's error ratio at `t`; `ghost` has no history at all. */
function ratio(deployment: string, t: number): number {
  const i = ORDER.indexOf(deployment);
  const b = BEHAVIOUR[deployment];
  return b && t >= start(i) + b.from * 60_000 ? b.ratio : 0.002;
}

/** The history as OpenMetrics for promtool: every Deployment's gauge every 15 s, up to a minute ago. */
function openMetrics(): string {
  const lines = ['# TYPE bt_errors gauge'];
  for (let t = T0 - 15 * 60_000; t <= Date.now() - 60_000; t += 15_000) {
    for (const d of ORDER) lines.push(`bt_errors{namespace="${NS}",deployment="${d}"} ${ratio(d, t)} ${t / 1000}`);
  }
  return `${lines.join('\n')}\n# EOF\n`;
}

const rules = (above: number, hold: string) => `version: 1
select: { namespace: ${NS}, matchLabels: { guard: "true" } }
interval: 15s
windows: { minor: 30m }
rules:
  - name: error-rate-critical
    tier: immediate
    query: 'bt_errors{namespace="{{namespace}}", deployment="{{deployment}}"}'
    above: ${above}
    for: ${hold}
`;

let prom: PrometheusServer;
beforeAll(async () => {
  prom = await startPrometheus({ openMetrics: openMetrics() });
}, 60_000);
afterAll(async () => {
  await disposePrometheus(prom);
});

/** A decision log with the four releases as a daemon would have left them. */
function decisionLog(file: string, rulesFile: string): void {
  const ruleset = parseRules(fs.readFileSync(rulesFile, 'utf8'), rulesFile);
  const store = openDecisionLog(file);
  for (const [i, deployment] of ORDER.entries()) {
    const r = store.startRelease({ startedAt: start(i), severity: 'minor', windowMs: 30 * 60_000, namespace: NS, deployment, source: 'live' }, ruleset, {});
    const release = { startedAt: start(i), severity: 'minor' as const, windowEnd: start(i) + 30 * 60_000 };
    if (deployment === 'bad') {
      const at = start(i) + 2 * 60_000;
      store.recordInstant(r.id, at, { rules: {}, outcome: { kind: 'rolled-back', at } }, [], [{ at, action: 'rollback', tier: 'immediate', rule: 'error-rate-critical', value: 0.2, threshold: 0.05, mode: 'enforce', evidence: { value: 0.2, threshold: 0.05, rulesHash: ruleset.hash, release } }]);
    } else if (deployment === 'quiet') {
      // A page (from complaints) approved by a person, who rolled it back: known reverted at the approval.
      const at = start(i) + 9 * 60_000;
      const [page] = store.recordInstant(r.id, at, { rules: {} }, [], [{ at, action: 'page', tier: 'considered', rule: null, level: 1, value: null, threshold: null, mode: 'enforce', evidence: { value: null, threshold: null, rulesHash: ruleset.hash, release, note: 'manual trigger by sam: user complaints' } }]);
      store.db.prepare(`INSERT INTO approvals (decision_id, verdict, by, via, at) VALUES (?, 'approved', 'dana', 'api', ?)`).run(page!.id, new Date(at + 60_000).toISOString());
      store.closeRelease(r.id, 'rolled-back', at + 90_000, 'rolled back on approval by dana');
    } else if (deployment === 'slow') {
      const at = start(i) + 20 * 60_000;
      store.recordInstant(r.id, at, { rules: {}, outcome: { kind: 'rolled-back', at } }, [], [{ at, action: 'rollback', tier: 'immediate', rule: null, value: null, threshold: null, mode: 'enforce', evidence: { value: null, threshold: null, rulesHash: ruleset.hash, release, note: 'manual trigger by dana: errors' } }]);
    } else {
      if (deployment === 'noisy') {
        // Paged, and the page declined: kept all the same.
        const at = start(i) + 10 * 60_000;
        const [page] = store.recordInstant(r.id, at, { rules: {} }, [], [{ at, action: 'page', tier: 'considered', rule: 'error-rate-critical', level: 1, value: 0.02, threshold: 0.01, mode: 'enforce', evidence: { value: 0.02, threshold: 0.01, rulesHash: ruleset.hash, release } }]);
        store.db.prepare(`INSERT INTO approvals (decision_id, verdict, by, via, at) VALUES (?, 'declined', 'dana', 'slack', ?)`).run(page!.id, new Date(at + 60_000).toISOString());
      }
      const at = start(i) + 30 * 60_000;
      store.recordInstant(r.id, at, { rules: {}, outcome: { kind: 'promoted', at } }, [], []);
    }
  }
  store.close();
}

describe('backtest', () => {
  it('from the decision log: one row per release with what these rules decide and the verdict, then a summary', async () => {
    const dir = tmp();
    const current = path.join(dir, 'current.yaml');
    fs.writeFileSync(current, rules(0.05, '1m'));
    const db = path.join(dir, 'decisions.db');
    decisionLog(db, current);
    const r = await cliAsync(['backtest', '--rules', current, '--prometheus', prom.url, '--db', db, '--since', '1d', '--json']);
    expect(r.code, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout) as { releases: { target: string; source: string; known: string; knownText: string; verdict: string; detectSeconds: number | null; deltaSeconds?: number; decisions: { action: string; tier: string; evidence: object }[] }[]; summary: Record<string, unknown>; queries: number };
    expect(out.releases.map((x) => [x.target, x.source, x.known, x.verdict, x.detectSeconds, x.deltaSeconds ?? null])).toEqual([
      [`${NS}/bad`, 'decision-log', 'reverted', 'agrees', 120, null], // breach from 1m, held 1m: as the guard did
      [`${NS}/good`, 'decision-log', 'kept', 'agrees', null, null],
      [`${NS}/noisy`, 'decision-log', 'kept', 'agrees', null, null],
      [`${NS}/slow`, 'decision-log', 'reverted', 'earlier', 9 * 60, 11 * 60], // a person reverted at 20m; these rules at 9m
      [`${NS}/quiet`, 'decision-log', 'reverted', 'would-miss', null, null], // nothing in the data: a miss
    ]);
    expect(out.releases.map((x) => x.knownText)).toEqual(['rolled back by the guard (error-rate-critical)', 'kept (promoted)', 'kept (promoted); page of error-rate-critical declined by dana', 'rolled back by a person', 'rolled back on approval by dana (page of a manual trigger)']);
    // Decisions as `replay --json` writes them.
    expect(out.releases[0]!.decisions[0]).toMatchObject({ action: 'rollback', tier: 'immediate', rule: 'error-rate-critical', mode: 'enforce', evidence: expect.objectContaining({ rulesHash: expect.any(String) }) });
    expect(out.summary).toEqual({ releases: 5, agreements: 3, falseReverts: 0, misses: 1, earlier: 1, later: 0, unknown: 0, noData: 0, medianDetectSeconds: 330 });
    expect(out.queries).toBeGreaterThan(0);
  }, 60_000);

  it('--against: only the releases decided differently, and what the change does; a list with an unknown and a gone release', async () => {
    const dir = tmp();
    const current = path.join(dir, 'current.yaml');
    const candidate = path.join(dir, 'candidate.yaml');
    fs.writeFileSync(current, rules(0.05, '1m'));
    fs.writeFileSync(candidate, rules(0.01, '30s'));
    const list = path.join(dir, 'releases.json');
    const iso = (ms: number) => new Date(ms).toISOString();
    const rfc = (ms: number) => iso(ms).replace('.000Z', 'Z');
    fs.writeFileSync(list, JSON.stringify([
      { target: `${NS}/bad`, start: iso(start(0)), known: 'reverted', revertedAt: iso(start(0) + 2 * 60_000) },
      { target: `${NS}/good`, start: iso(start(1)), known: 'kept' },
      { target: `${NS}/noisy`, start: iso(start(2)), known: 'kept' },
      { target: `${NS}/slow`, start: iso(start(3)), known: 'unknown' },
      { target: `${NS}/ghost`, start: iso(start(5)), known: 'kept' },
      { target: 'other/api', start: iso(start(5)), known: 'kept' },
    ]));
    const r = await cliAsync(['backtest', '--rules', current, '--against', candidate, '--prometheus', prom.url, '--releases', list, '--since', '1d']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toContain(`1 of 6 releases in range are of Deployments ${current} or ${candidate} does not guard: skipped`);
    const lines = r.stdout.split('\n');
    // bad: the candidate reverts sooner; noisy: the candidate reverts a kept release; slow: both revert, the candidate sooner.
    expect(lines[0]).toMatch(/^TARGET\s+START\s+SEVERITY\s+SOURCE\s+KNOWN\s+NOW DECIDES\s+VERDICT\s+CANDIDATE DECIDES\s+VERDICT$/);
    const rows = lines.slice(1, lines.indexOf(''));
    expect(rows.map((l) => l.split(/\s{2,}/).filter(Boolean))).toEqual([
      [`${NS}/bad`, rfc(start(0)), 'minor', 'releases-file', `reverted at ${rfc(start(0) + 2 * 60_000)}`, 'rollback +2m error-rate-critical', 'agrees', 'rollback +1m30s error-rate-critical', 'earlier by 30s'],
      [`${NS}/noisy`, rfc(start(2)), 'minor', 'releases-file', 'kept', 'promote +30m', 'agrees', 'rollback +2m30s error-rate-critical', 'would-revert'],
      [`${NS}/slow`, rfc(start(3)), 'minor', 'releases-file', 'unknown', 'rollback +9m error-rate-critical', 'unknown', 'rollback +8m30s error-rate-critical', 'unknown'],
    ]);
    // ghost has no history: it is a row of its own in both runs' summaries ("not replayed"), never an agreement.
    expect(r.stdout).toContain(`${current}: 5 releases, 3 agree, 0 false reverts, 0 misses, 0 earlier, 0 later, 1 unknown, 1 not replayed`);
    expect(r.stdout).toContain(`${candidate}: 5 releases, 1 agree, 1 false revert, 0 misses, 1 earlier, 0 later, 1 unknown, 1 not replayed`);
    expect(r.stdout).toContain('this change adds 1 false revert, reverts 2 releases sooner (median 30s)');
    expect(r.stdout).toMatch(/backtest: 5 releases, [\d.]+ s, \d+ queries/);
  }, 60_000);

  it('--replicasets: releases from the Deployments\' ReplicaSet history (start estimated), before what the decision log knows', async () => {
    const kube = await new KubeStandIn().start();
    try {
      const dir = tmp();
      const current = path.join(dir, 'current.yaml');
      fs.writeFileSync(current, rules(0.05, '1m'));
      // bad's history: revision 1 half an hour before its failing release, revision 2 (a hotfix) at it.
      kube.clock = () => start(0) - 30 * 60_000;
      kube.createDeployment(NS, 'bad', 'bad:1', { labels: { guard: 'true' } });
      kube.clock = () => start(0);
      kube.setImage(NS, 'bad', 'bad:2', { annotations: { 'rollback-guard.io/severity': 'hotfix' } });
      kube.createDeployment(NS, 'other', 'other:1'); // not selected
      const r = await cliAsync(['backtest', '--rules', current, '--prometheus', prom.url, '--replicasets', '--kube-server', kube.url, '--since', '1d', '--json']);
      expect(r.code, r.stderr).toBe(0);
      const out = JSON.parse(r.stdout) as { releases: { target: string; start: string; source: string; severity: string; knownText: string; verdict: string; decisions: { action: string; at: string }[] }[] };
      expect(out.releases.map((x) => [x.target, x.start, x.source, x.severity, x.knownText, x.verdict, x.decisions.map((d) => d.action)])).toEqual([
        [`${NS}/bad`, new Date(start(0) - 30 * 60_000).toISOString().replace('.000Z', 'Z'), 'replicaset', 'minor', 'unknown (revision 1)', 'unknown', ['promote']],
        [`${NS}/bad`, new Date(start(0)).toISOString().replace('.000Z', 'Z'), 'replicaset', 'hotfix', 'unknown (revision 2)', 'unknown', ['rollback']],
      ]);
      // With the decision log, only what it does not know: bad's log release starts at revision 2's time.
      const db = path.join(dir, 'decisions.db');
      decisionLog(db, current);
      const both = await cliAsync(['backtest', '--rules', current, '--prometheus', prom.url, '--replicasets', '--kube-server', kube.url, '--db', db, '--since', '1d', '--json']);
      const sources = (JSON.parse(both.stdout) as { releases: { target: string; source: string }[] }).releases.map((x) => `${x.target} ${x.source}`);
      expect(sources).toEqual([`${NS}/bad replicaset`, ...ORDER.map((d) => `${NS}/${d} decision-log`)]);
      const table = await cliAsync(['backtest', '--rules', current, '--prometheus', prom.url, '--replicasets', '--kube-server', kube.url, '--since', '1d']);
      expect(table.stdout).toContain('replicaset (start estimated)');
    } finally {
      await kube.stop();
    }
  }, 60_000);

  it('bad input: exit 2 naming what is wrong; an unreachable Prometheus is a row, not a crash', async () => {
    const dir = tmp();
    const current = path.join(dir, 'current.yaml');
    fs.writeFileSync(current, rules(0.05, '1m'));
    const none = await cliAsync(['backtest', '--rules', current, '--prometheus', prom.url]);
    expect(none.code).toBe(2);
    expect(none.stderr).toContain("give the past releases: --db FILE (the daemon's decision log), --replicasets");
    const list = path.join(dir, 'releases.json');
    fs.writeFileSync(list, JSON.stringify([{ target: 'shop', start: 'yesterday' }]));
    const bad = await cliAsync(['backtest', '--rules', current, '--prometheus', prom.url, '--releases', list]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain(`--releases ${list}: [0].target: must be NAMESPACE/NAME`);
    fs.writeFileSync(list, JSON.stringify([{ target: `${NS}/bad`, start: new Date(start(0)).toISOString(), known: 'reverted' }]));
    const down = await cliAsync(['backtest', '--rules', current, '--prometheus', 'http://127.0.0.1:9', '--prometheus-retry-budget', '1s', '--releases', list, '--since', '1d', '--json']);
    expect(down.code, down.stderr).toBe(0);
    const out = JSON.parse(down.stdout) as { releases: { verdict: string; reason: string }[] };
    expect(out.releases[0]).toMatchObject({ verdict: 'no-data', reason: expect.stringContaining('ECONNREFUSED') });
  }, 60_000);
});

