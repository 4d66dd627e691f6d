import type { Command } from 'commander';
import { PrometheusClient } from '../../adapters/prometheus/prometheus-client.js';
import { intervalProblem } from '../../core/interval-grid.js';
import { bindRuleset } from '../../core/bind-ruleset.js';
import { groupedQuery, groupingOf } from '../../core/query-grouping.js';
import { rulesetQueries } from '../../core/rule-parts.js';
import type { Ruleset } from '../../core/ruleset.js';
import { PrometheusError } from '../../errors/prometheus-error.js';
import { formatProblem, RulesInvalidError, type RulesProblem } from '../../errors/rules-invalid-error.js';
import type { Io } from '../io.js';
import { loadRulesFile } from '../load-rules-file.js';
import { addPrometheusOptions, prometheusConnection, type PrometheusFlags } from '../prometheus-options.js';

/** `check RULES...`: validate rules files like `promtool check rules`; exit 1 if any is invalid. */
export function registerCheck(program: Command, io: Io): void {
  const cmd = program
    .command('check')
    .description('validate rules files: one summary line per file, every problem with its line and column; with --prometheus, also send every query to the server; exit 1 if any file is invalid')
    .argument('<rules...>', 'rules files to check');
  addPrometheusOptions(cmd).action(async (files: string[], flags: PrometheusFlags) => {
    const conn = prometheusConnection(flags);
    const client = conn ? new PrometheusClient(conn) : undefined;
    let failed = 0;
    for (const file of files) {
      try {
        const rs = loadRulesFile(file);
        const off = intervalProblem(rs);
        const rejected = [...(off ? [off] : []), ...(client ? await rejectedQueries(client, rs) : [])];
        if (rejected.length) throw new RulesInvalidError(file, rejected);
        const immediate = rs.rules.filter((r) => r.tier === 'immediate').length;
        const pairs = rs.rules.filter((r) => r.kind === 'burn-rate').length;
        io.out(`${file}: OK: ${plural(rs.rules.length, 'rule')} (${immediate} immediate, ${rs.rules.length - immediate} considered${pairs ? `; ${plural(pairs, 'SLO window pair')} counted as rules` : ''}), ${plural(rs.baselines.length, 'baseline')}${client ? ', every query accepted by Prometheus' : ''}`);
        for (const line of sharingLines(rs)) io.out(`  ${line}`);
      } catch (err) {
        if (!(err instanceof RulesInvalidError)) throw err;
        failed++;
        io.out(`${file}: FAILED: ${err.problems.length} problem${err.problems.length === 1 ? '' : 's'}`);
        for (const p of err.problems) io.err(`  ${formatProblem(p)}`);
      }
    }
    io.exitCode = failed ? 1 : 0;
  });
}

/**
 * Sends every query once (an instant query now) and returns those Prometheus rejects, located in the file.
 * A server that cannot be reached is not a problem of the file: that error propagates (exit 2).
 */
async function rejectedQueries(client: PrometheusClient, rs: Ruleset): Promise<RulesProblem[]> {
  const now = Date.now();
  const results = await Promise.all(
    boundQueries(rs).map(async (q) => {
      try {
        await client.query(q.query, now);
        return undefined;
      } catch (err) {
        if (err instanceof PrometheusError && err.code === 'RG_PROM_BAD_QUERY') {
          const p: RulesProblem = { file: rs.file, line: q.at?.line ?? 1, column: q.at?.column ?? 1, message: `\`${q.field}\`${q.what.endsWith('(for all targets)') ? ' (as sent once for all targets)' : ''}: ${err.message}` };
          if (q.rule) p.rule = q.rule;
          return p;
        }
        // Not the file's fault: say which server, and that the file itself was not judged.
        if (err instanceof PrometheusError) throw new PrometheusError(err.code, `cannot check the queries of ${rs.file} against Prometheus at ${client.baseUrl}: ${err.message}${err.code === 'RG_PROM_CREDENTIALS' ? '' : '; fix --prometheus / PROMETHEUS_URL, or check without it'}`, { cause: err });
        throw err;
      }
    }),
  );
  // One problem per query as written: bound for each target (and as sent for all), a bad query fails the same way.
  const found = results.filter((p): p is RulesProblem => p !== undefined);
  return found.filter((p, i) => found.findIndex((o) => o.line === p.line && o.column === p.column) === i);
}

/**
 * Every query as the daemon would send it: per-target queries bound for each target (a stand-in for its pod
 * selector; a canary's rules also for its stable Deployment), each distinct query once.
 */
function boundQueries(rs: Ruleset): ReturnType<typeof rulesetQueries> {
  const selector = { rollback_guard_check: 'selector' };
  const all = targetsToCheck(rs).flatMap((t) => rulesetQueries(bindRuleset(rs, { ...t, selector, ...(t.compareTo ? { stable: { namespace: t.namespace, deployment: t.compareTo, selector } } : {}) })));
  return [...new Map([...all, ...groupedQueries(rs)].map((q) => [q.query, q])).values()];
}

/** A file's listed targets, or for a fleet (`select:`) a stand-in Deployment of it: its queries bound all the same. */
function targetsToCheck(rs: Ruleset): Ruleset['targets'] {
  if (!rs.select) return rs.targets;
  return [{ namespace: rs.select.namespace ?? 'rollback-guard-check', deployment: 'rollback-guard-check', rollback: rs.select.rollback }];
}

/** The rules' per-target queries (rule and `when:`), each distinct one once, with where it is written. */
function perTargetQueries(rs: Ruleset): ReturnType<typeof rulesetQueries> {
  const all = rulesetQueries(rs).filter((q) => q.rule !== undefined && q.query.includes('{{'));
  return all.filter((q, i) => all.findIndex((o) => o.query === q.query) === i); // each named where first written
}

/**
 * For a file guarding several Deployments: which per-target rule queries the daemon sends once for all of them
 * (ADR 0015), and why the others are sent per target.
 */
function sharingLines(rs: Ruleset): string[] {
  if (rs.targets.length < 2 && !rs.select) return [];
  const queries = perTargetQueries(rs);
  if (queries.length === 0) return [];
  const apart = queries.flatMap((q) => {
    // A judge's windows are range queries: read per canary and per stable Deployment (canaries are few).
    if (q.range) return [`sent per target: ${q.what}: a window of samples (range query)`];
    const g = groupingOf(q.query);
    return 'reason' in g ? [`sent per target: ${q.what}: ${g.reason}`] : [];
  });
  const all = rs.select ? 'the Deployments it selects' : `${rs.targets.length} targets`;
  return [`${queries.length - apart.length} of ${plural(queries.length, 'per-target rule query', 'per-target rule queries')} sent once for all ${all}`, ...apart];
}

/** The queries sent once for all targets, as sent (so Prometheus validates the widened form too). */
function groupedQueries(rs: Ruleset): ReturnType<typeof rulesetQueries> {
  const targets = rs.select ? [...targetsToCheck(rs), { namespace: rs.select.namespace ?? 'rollback-guard-check-2', deployment: 'rollback-guard-check-2' }] : rs.targets;
  if (targets.length < 2) return [];
  return perTargetQueries(rs).flatMap((q) => {
    if (q.range) return [];
    const g = groupingOf(q.query);
    return 'grouping' in g ? [{ ...q, what: `${q.what} (for all targets)`, query: groupedQuery(g.grouping, targets) }] : [];
  });
}

function plural(n: number, noun: string, nouns = `${noun}s`): string {
  return `${n} ${n === 1 ? noun : nouns}`;
}
