// `backtest`: a rules file (and with --against, a second one) replayed over every past release in a time range,
// each through the same tick as `replay --prometheus`, judged against what is known to have happened to it.
import fs from 'node:fs';
import type { Command } from 'commander';
import pLimit from 'p-limit';
import { z } from 'zod';
import { PrometheusClient } from '../../adapters/prometheus/prometheus-client.js';
import { pastReleasesFromLog, type PastRelease } from '../../adapters/sqlite/past-releases.js';
import { changeSummary, judgeRelease, summarize, type BacktestDecision, type Judged, type KnownOutcome } from '../../core/backtest-verdict.js';
import { formatDuration } from '../../core/duration.js';
import { toJson } from '../../core/json.js';
import { SEVERITIES } from '../../core/rules-schema.js';
import { labelSelectorOf, mayGuard, stableOf, type Ruleset } from '../../core/ruleset.js';
import { kubeClients } from '../../adapters/kubernetes/kube-client.js';
import { releaseHistory, selectedDeployments } from '../../adapters/kubernetes/release-history.js';
import { addKubeOptions, kubeConnection, type KubeFlags } from '../kube-options.js';
import { toRfc3339 } from '../../core/time-format.js';
import { UsageError } from '../../errors/usage-error.js';
import type { StoredDecision } from '../../ports/decision-store.js';
import { decisionJson, table } from '../format.js';
import type { Io } from '../io.js';
import { loadRulesFile } from '../load-rules-file.js';
import { parseDurationOption, parseTime } from '../option-parsers.js';
import { addPrometheusOptions, prometheusConnection, type PrometheusFlags } from '../prometheus-options.js';
import { replayFromPrometheus } from '../prometheus-history.js';

interface BacktestFlags extends PrometheusFlags, KubeFlags {
  replicasets?: boolean;
  rules: string;
  against?: string;
  since: string;
  until?: string;
  db?: string;
  releases?: string;
  json?: boolean;
  concurrency: string;
}

/** One release replayed through one rules file. */
interface Run extends Judged {
  /** What the rules decided, as replay records it (shadow decisions included; the verdict ignores them). */
  decisions?: StoredDecision[];
  /** Why it could not be replayed (no-data). */
  reason?: string;
  queries: number;
}

const releasesFileSchema = z.array(
  z.strictObject({
    target: z.string().regex(/^[^/\s]+\/[^/\s]+$/, { error: 'must be NAMESPACE/NAME' }),
    start: z.string().refine((s) => !Number.isNaN(Date.parse(s)), { error: 'must be an RFC 3339 time' }),
    severity: z.enum(SEVERITIES).default('minor'),
    known: z.enum(['kept', 'reverted', 'unknown']).default('unknown'),
    /** When it was reverted, for earlier/later. */
    revertedAt: z.string().refine((s) => !Number.isNaN(Date.parse(s)), { error: 'must be an RFC 3339 time' }).optional(),
    selector: z.record(z.string(), z.string()).optional(),
  }),
);

export function registerBacktest(program: Command, io: Io): void {
  const cmd = program
    .command('backtest')
    .description('replay a rules file over every past release in a time range (from the decision log, or a list) and compare what it decides with what happened; with --against, what a second file decides differently')
    .requiredOption('--rules <file>', 'the rules file to test')
    .option('--against <file>', 'a second rules file (the candidate) run on the same releases and data: print only the releases it decides differently, and what the change does')
    .option('--since <duration>', 'how far back releases are taken, e.g. 30d', '30d')
    .option('--until <time>', 'the end of that range, RFC 3339 (default: now)')
    .option('--db <file>', "the daemon's decision log: the releases it guarded, with their outcomes")
    .option('--releases <file>', 'an explicit list instead, JSON: [{"target": "NS/NAME", "start": TIME, "severity"?, "known"?: "kept"|"reverted"|"unknown", "revertedAt"?, "selector"?}]')
    .option('--replicasets', "also read past releases from the Deployments' ReplicaSet history (Kubernetes access as for `run`): those before the decision log's first release of each, or all without --db; a ReplicaSet's creation time is an estimate of its release start")
    .option('--concurrency <n>', 'releases replayed at once', '4')
    .option('--json', 'print {"releases": [...], "summary": {...}} as JSON');
  addKubeOptions(addPrometheusOptions(cmd)).action(async (flags: BacktestFlags) => {
    const until = flags.until !== undefined ? parseTime('--until', flags.until) : Date.now();
    const since = until - parseDurationOption('--since', flags.since);
    const concurrency = Number(flags.concurrency);
    if (!Number.isInteger(concurrency) || concurrency < 1 || concurrency > 64) throw new UsageError(`--concurrency ${flags.concurrency}: use a whole number from 1 to 64`);
    const conn = prometheusConnection(flags);
    if (!conn) throw new UsageError('--prometheus URL (or PROMETHEUS_URL) is required: where the releases\' history is read from');
    const current = loadRulesFile(flags.rules);
    const candidate = flags.against !== undefined ? loadRulesFile(flags.against) : undefined;
    if (flags.releases !== undefined && (flags.db !== undefined || flags.replicasets)) throw new UsageError('--releases is an explicit list: give it alone, without --db or --replicasets');
    if (flags.releases === undefined && flags.db === undefined && !flags.replicasets) {
      throw new UsageError("give the past releases: --db FILE (the daemon's decision log), --replicasets (the Deployments' ReplicaSet history), both, or --releases FILE (a list)");
    }
    let found = flags.releases !== undefined ? releasesFromFile(flags.releases) : flags.db !== undefined ? pastReleasesFromLog(flags.db, since, until) : [];
    if (flags.replicasets) found = [...found, ...(await replicaSetReleases(flags, [current, ...(candidate ? [candidate] : [])], found, since, until, io))].sort((a, b) => a.startedAt - b.startedAt);
    const inRange = found.filter((r) => r.startedAt >= since && r.startedAt <= until);
    const guarded = inRange.filter((r) => mayGuard(current, r) && (!candidate || mayGuard(candidate, r)));
    if (guarded.length < inRange.length) io.err(`${inRange.length - guarded.length} of ${inRange.length} releases in range are of Deployments ${flags.rules}${candidate ? ` or ${flags.against}` : ''} does not guard: skipped`);

    const client = new PrometheusClient(conn);
    const limit = pLimit(concurrency);
    let done = 0;
    const progress = process.stderr.isTTY && !flags.json;
    const started = Date.now();
    const results = await Promise.all(
      guarded.map((r) =>
        limit(async () => {
          const now = await runRelease(client, current, r, until);
          const then = candidate ? await runRelease(client, candidate, r, until) : undefined;
          done++;
          if (progress) process.stderr.write(`\rrelease ${done}/${guarded.length} ${r.namespace}/${r.deployment} ${toRfc3339(r.startedAt)}\u001b[K`);
          return { release: r, now, then };
        }),
      ),
    );
    if (progress) process.stderr.write('\r\u001b[K');
    const queries = results.reduce((n, x) => n + x.now.queries + (x.then?.queries ?? 0), 0);
    const summary = summarize(results.map((x) => x.now));
    const against = candidate ? summarize(results.map((x) => x.then!)) : undefined;
    const change = candidate ? changeSummary(results.map((x) => x.now), results.map((x) => x.then!), (s) => formatDuration(s * 1000)) : undefined;

    if (flags.json) {
      io.out(
        toJson(
          {
            releases: results.map(({ release: r, now, then }) => ({
              target: `${r.namespace}/${r.deployment}`,
              start: toRfc3339(r.startedAt),
              severity: r.severity,
              source: r.source,
              known: r.known.kind,
              knownText: r.knownText,
              ...runJson(now),
              ...(then ? { against: runJson(then) } : {}),
            })),
            summary,
            ...(against ? { againstSummary: against, change } : {}),
            queries,
            seconds: (Date.now() - started) / 1000,
          },
          2,
        ),
      );
      return;
    }
    const shown = candidate ? results.filter((x) => x.then!.verdict !== x.now.verdict || firstText(x.then!, x.release.startedAt) !== firstText(x.now, x.release.startedAt)) : results;
    const head = ['TARGET', 'START', 'SEVERITY', 'SOURCE', 'KNOWN', ...(candidate ? ['NOW DECIDES', 'VERDICT', 'CANDIDATE DECIDES', 'VERDICT'] : ['DECIDES', 'VERDICT'])];
    const rows = shown.map(({ release: r, now, then }) => [
      `${r.namespace}/${r.deployment}`,
      toRfc3339(r.startedAt),
      r.severity,
      r.source === 'replicaset' ? 'replicaset (start estimated)' : r.source,
      r.knownText,
      firstText(now, r.startedAt),
      verdictText(now),
      ...(then ? [firstText(then, r.startedAt), verdictText(then)] : []),
    ]);
    if (candidate && shown.length === 0) io.out(`no release is decided differently by ${flags.against}`);
    else io.out(table([head, ...rows]));
    io.out('');
    io.out(summaryLine(flags.rules, summary));
    if (against) {
      io.out(summaryLine(flags.against!, against));
      io.out(change!);
    }
    io.out(`backtest: ${results.length} releases, ${((Date.now() - started) / 1000).toFixed(1)} s, ${queries} queries`);
  });
}

/**
 * Releases from the ReplicaSet history of every Deployment the rules guard (listed, or selected by a fleet now),
 * before the decision log's first release of each (the log knows those better: their outcomes).
 */
async function replicaSetReleases(flags: KubeFlags, files: readonly Ruleset[], logged: readonly PastRelease[], since: number, until: number, io: Io): Promise<PastRelease[]> {
  const k = await kubeClients(kubeConnection(flags));
  const refs = new Map<string, { namespace: string; deployment: string }>();
  for (const rs of files) {
    for (const t of rs.targets) refs.set(`${t.namespace}/${t.deployment}`, t);
    if (rs.select) for (const d of await selectedDeployments(k, rs.select.namespace, labelSelectorOf(rs.select))) refs.set(`${d.namespace}/${d.deployment}`, d);
  }
  const { releases, problems } = await releaseHistory(k, [...refs.values()], since, until);
  for (const p of problems) io.err(`warning: ${p}`);
  return releases
    .filter((h) => !logged.some((l) => l.namespace === h.namespace && l.deployment === h.deployment && l.startedAt <= h.startedAt + 60_000))
    .map((h) => ({
      namespace: h.namespace,
      deployment: h.deployment,
      startedAt: h.startedAt,
      severity: h.severity,
      source: 'replicaset' as const,
      known: { kind: 'unknown' as const },
      knownText: `unknown (revision ${h.revision})`,
      ...(h.selector ? { selector: h.selector } : {}),
    }));
}

async function runRelease(client: PrometheusClient, file: Ruleset, r: PastRelease, until: number): Promise<Run> {
  const windowMs = file.windowsMs[r.severity];
  const to = Math.min(r.startedAt + windowMs, until);
  const target = { namespace: r.namespace, deployment: r.deployment };
  const stable = r.stable ?? stableOf(file, target);
  try {
    const { history, result } = await replayFromPrometheus(client, file, {
      target, ...(r.selector ? { selector: r.selector } : {}), ...(stable ? { stable } : {}),
      release: { startedAt: r.startedAt, severity: r.severity, windowMs }, until: to, sourceName: 'backtest',
    });
    if (history.source.start === undefined) return { verdict: 'no-data', reason: `Prometheus holds no data for ${toRfc3339(r.startedAt)} to ${toRfc3339(to)} (past its retention?)`, queries: history.queries };
    const enforced: BacktestDecision[] = result.decisions.filter((d) => d.mode !== 'shadow');
    return { ...judgeRelease(r.startedAt, r.known, enforced, file.intervalMs), decisions: result.decisions, queries: history.queries };
  } catch (err) {
    // An unreachable Prometheus, a query it rejects, a selector nobody recorded: this release's row says so.
    return { verdict: 'no-data', reason: err instanceof Error ? err.message : String(err), queries: 0 };
  }
}

function runJson(run: Run) {
  return {
    decisions: (run.decisions ?? []).map(decisionJson),
    verdict: run.verdict,
    detectSeconds: run.detectSeconds ?? null,
    ...(run.deltaSeconds !== undefined ? { deltaSeconds: run.deltaSeconds } : {}),
    ...(run.reason !== undefined ? { reason: run.reason } : {}),
  };
}

/** The first revert (or else the first decision): its action, how long after the release start, its rule. */
function firstText(run: Run, startedAt: number): string {
  if (run.verdict === 'no-data') return `not replayed: ${run.reason ?? 'no data'}`;
  const enforced = run.decisions?.filter((d) => d.mode !== 'shadow');
  const shown = enforced?.find((d) => d.action === 'rollback') ?? enforced?.[0];
  if (!shown) return 'nothing (data ended in the window)';
  const rule = shown.rule ?? (shown.action === 'promote' ? '' : '(manual)');
  return `${shown.action} +${formatDuration(shown.at - startedAt)}${rule ? ` ${rule}` : ''}`;
}

function verdictText(run: Run): string {
  return run.deltaSeconds !== undefined ? `${run.verdict} by ${formatDuration(run.deltaSeconds * 1000)}` : run.verdict;
}

function summaryLine(file: string, s: ReturnType<typeof summarize>): string {
  const median = s.medianDetectSeconds === null ? 'no revert' : formatDuration(s.medianDetectSeconds * 1000);
  const n = (k: number, one: string, many = `${one}s`) => `${k} ${k === 1 ? one : many}`;
  return `${file}: ${n(s.releases, 'release')}, ${s.agreements} agree, ${n(s.falseReverts, 'false revert')}, ${n(s.misses, 'miss', 'misses')}, ${s.earlier} earlier, ${s.later} later, ${s.unknown} unknown, ${s.noData} not replayed; median detection ${median}`;
}

function releasesFromFile(file: string): PastRelease[] {
  let data: unknown;
  try {
    data = JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch (err) {
    throw new UsageError(`--releases ${file}: ${(err as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (err as Error).message}`);
  }
  const parsed = releasesFileSchema.safeParse(data);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    const where = issue.path.map((p) => (typeof p === 'number' ? `[${p}]` : `.${String(p)}`)).join('') || 'top level';
    throw new UsageError(`--releases ${file}: ${where}: ${issue.message}; each entry is {"target": "NS/NAME", "start": TIME, "severity"?, "known"?, "revertedAt"?, "selector"?}`);
  }
  return parsed.data.map((e) => {
    const [namespace, deployment] = e.target.split('/') as [string, string];
    const known: KnownOutcome = e.known === 'reverted' ? { kind: 'reverted', ...(e.revertedAt ? { at: Date.parse(e.revertedAt) } : {}) } : { kind: e.known };
    return {
      namespace,
      deployment,
      startedAt: Date.parse(e.start),
      severity: e.severity,
      source: 'releases-file' as const,
      known,
      knownText: e.known === 'reverted' ? `reverted${e.revertedAt ? ` at ${toRfc3339(Date.parse(e.revertedAt))}` : ''}` : e.known,
      ...(e.selector ? { selector: e.selector } : {}),
    };
  });
}
