// `rollback-guard test FILE...`: rule unit tests, like `promtool test rules`. Each test's series are written to a
// throwaway real Prometheus, and its release is replayed through the same tick as `replay --prometheus`;
// the decisions must be exactly the ones expected. Exit 0 when all pass, 1 when one fails, 2 on bad input.
import type { Command } from 'commander';
import { PrometheusClient } from '../../adapters/prometheus/prometheus-client.js';
import { withTestPrometheus } from '../../adapters/prometheus/local-prometheus.js';
import { formatDuration, parseDuration } from '../../core/duration.js';
import { mayGuard, stableOf, type Ruleset } from '../../core/ruleset.js';
import { UsageError } from '../../errors/usage-error.js';
import type { Io } from '../io.js';
import { loadRulesFile } from '../load-rules-file.js';
import { replayFromPrometheus } from '../prometheus-history.js';
import { loadRuleTests, seriesSpan, testSeries, type RuleTest } from '../rule-tests.js';

const HOUR = 3600_000;

interface Got {
  action: string;
  rule: string | null;
  at: number;
  level?: number;
}

export function registerTest(program: Command, io: Io): void {
  program
    .command('test')
    .description('run rule unit tests (like `promtool test rules`): input series, a release, the decisions expected; PromQL is evaluated by a real Prometheus (prometheus 2.33+ must be installed)')
    .argument('<files...>', 'test files (YAML; see "Rule unit tests" in the README)')
    .action(async (files: string[]) => {
      // As promtool prints it: per file "Unit Testing: FILE", then SUCCESS or FAILED with each failed test.
      let failed = 0;
      for (const file of files) {
        const suite = loadRuleTests(file);
        const rules = loadRulesFile(suite.rulesFile);
        io.out(`Unit Testing: ${file}`);
        const failures: string[] = [];
        for (const t of suite.tests) {
          const problems = await runTest(rules, t);
          if (problems.length) failures.push(`    test: ${t.name}`, ...problems.map((p) => `      ${p}`));
        }
        if (failures.length) {
          failed++;
          io.out('  FAILED:');
          for (const line of failures) io.out(line);
        } else io.out('  SUCCESS');
      }
      io.exitCode = failed ? 1 : 0;
    });
}

const ms = (d: string) => parseDuration(d)!; // validated by the schema

async function runTest(file: Ruleset, t: RuleTest): Promise<string[]> {
  const named = t.target?.split('/') ?? (file.target ? [file.target.namespace, file.target.deployment] : undefined);
  if (!named) throw new UsageError(`test "${t.name}": ${file.file} selects its Deployments by label: give the test a \`target: NAMESPACE/NAME\``);
  const [namespace, deployment] = named as [string, string];
  if (!mayGuard(file, { namespace, deployment })) throw new UsageError(`test "${t.name}": ${file.file} does not guard ${namespace}/${deployment}`);
  const stable = stableOf(file, { namespace, deployment });
  const stepMs = t.interval !== undefined ? ms(t.interval) : file.intervalMs;
  const windowMs = file.windowsMs[t.release.severity];
  const untilOffset = t.until !== undefined ? ms(t.until) : ms(t.release.at) + windowMs;
  // Time 0 on the hour, far enough back that no sample (nor the last instant judged) is later than now.
  const span = Math.max(seriesSpan(t, stepMs), untilOffset);
  const base = Math.floor((Date.now() - span - HOUR) / HOUR) * HOUR;
  const got = await withTestPrometheus(testSeries(t, base, stepMs), async (url) => {
    const { result } = await replayFromPrometheus(new PrometheusClient({ url }), file, {
      target: { namespace, deployment }, ...(t.selector ? { selector: t.selector } : {}), ...(stable ? { stable } : {}),
      release: { startedAt: base + ms(t.release.at), severity: t.release.severity, windowMs }, until: base + untilOffset, sourceName: 'test',
    });
    return result.decisions.map((d): Got => ({ action: d.action, rule: d.rule, at: d.at - base, ...(d.level !== undefined ? { level: d.level } : {}) }));
  });
  const show = (d: { action: string; rule?: string | null; at: number; level?: number }) => `${d.action} ${d.rule ?? '(no rule)'} at ${formatDuration(d.at)}${d.level !== undefined ? ` level ${d.level}` : ''}`;
  const expected = t.expect.map((e) => ({ action: e.action, rule: e.rule ?? null, at: ms(e.at), ...(e.level !== undefined ? { level: e.level } : {}) }));
  const problems: string[] = [];
  const same = (e: (typeof expected)[number], g: Got) => e.action === g.action && e.rule === g.rule && e.at === g.at && (e.level === undefined || e.level === g.level);
  if (expected.length !== got.length || expected.some((e, i) => !same(e, got[i]!))) {
    problems.push(`expected: ${expected.length ? expected.map(show).join('; ') : 'no decision'}`);
    problems.push(`got:      ${got.length ? got.map(show).join('; ') : 'no decision'}`);
  }
  return problems;
}
