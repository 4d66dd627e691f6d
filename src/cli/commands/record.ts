import fs from 'node:fs';
import type { Command } from 'commander';
import { PrometheusClient } from '../../adapters/prometheus/prometheus-client.js';
import { recordRange } from '../../adapters/prometheus/record-range.js';
import { lookbackMs, rulesetQueries } from '../../core/rule-parts.js';
import { gridStart } from '../../core/interval-grid.js';
import { toRfc3339 } from '../../core/time-format.js';
import { UsageError } from '../../errors/usage-error.js';
import type { Io } from '../io.js';
import { loadRulesFile } from '../load-rules-file.js';
import { parseDurationOption, parseTime, targetOption } from '../option-parsers.js';
import type { RecordedTarget } from '../../adapters/recording/recording-source.js';
import type { BoundTarget } from '../../core/bind-ruleset.js';
import { addPrometheusOptions, prometheusConnection, type PrometheusFlags } from '../prometheus-options.js';

interface RecordFlags extends PrometheusFlags {
  rules: string;
  from: string;
  to: string;
  step: string;
  out?: string;
  target?: string;
  selector?: string;
  stableSelector?: string;
}

/** `record`: save every query of a rules file over a time range as a recording, for replay and for tests. */
export function registerRecord(program: Command, io: Io): void {
  const cmd = program
    .command('record')
    .description('record every query of a rules file (rules, traffic floors, baselines) from Prometheus over a time range, as a replayable recording')
    .requiredOption('--rules <file>', 'rules file')
    .requiredOption('--from <time>', 'start, RFC 3339')
    .requiredOption('--to <time>', 'end, RFC 3339')
    .option('--step <duration>', 'resolution', '15s')
    .option('--out <file>', 'write the recording here (default: standard output)')
    .option('--target <namespace/deployment>', "for per-target queries: the Deployment recorded, one of the file's targets (default: its first)")
    .option('--selector <key=value,...>', "the Deployment's pod selector, for queries that use {{selector}}")
    .option('--stable-selector <key=value,...>', "for a canary (compareTo): the stable Deployment's pod selector");
  addPrometheusOptions(cmd).action(async (flags: RecordFlags) => {
    const from = parseTime('--from', flags.from);
    const to = parseTime('--to', flags.to);
    if (to < from) throw new UsageError('--to is before --from');
    const stepMs = parseDurationOption('--step', flags.step);
    // Per-target queries are recorded as evaluated for one Deployment: replay finds them as the daemon sent them.
    const { bound: ruleset, target } = targetOption(loadRulesFile(flags.rules), flags);
    const conn = prometheusConnection(flags);
    if (!conn) throw new UsageError('--prometheus URL (or PROMETHEUS_URL) is required: where to record from');
    const client = new PrometheusClient(conn);
    // On the daemon's grid (multiples of the step), as of each instant less the rules' evaluationOffset: the samples
    // replay needs for the instants the daemon judges.
    const offset = ruleset.evaluationOffsetMs;
    const { recording, warnings } = await recordRange(client, rulesetQueries(ruleset), gridStart(from, stepMs) - offset - lookbackMs(ruleset.rules), to - offset, stepMs);
    for (const w of warnings) io.err(`warning: Prometheus: ${w}`);
    // With the Deployment it was bound for: replay evaluates per-target rules for it without being told again.
    const { queries, ...head } = recording;
    const text = JSON.stringify({ ...head, target: recordedTarget(target), queries }) + '\n';
    if (flags.out === undefined) io.out(text.trimEnd());
    else {
      // Write beside and rename: an interrupted run never leaves half a recording under the final name.
      const tmp = `${flags.out}.tmp-${process.pid}`;
      fs.writeFileSync(tmp, text);
      fs.renameSync(tmp, flags.out);
      const samples = Object.values(recording.queries).reduce((n, q) => n + q.result.reduce((m, s) => m + s.values.length, 0), 0);
      io.err(`recorded ${Object.keys(recording.queries).length} queries, ${samples} samples, ${toRfc3339(from)} to ${toRfc3339(to)} at ${flags.step} into ${flags.out}`);
    }
  });
}

function recordedTarget(t: BoundTarget): RecordedTarget {
  const ref = (r: { namespace: string; deployment: string; selector?: Readonly<Record<string, string>> }) => ({ namespace: r.namespace, deployment: r.deployment, ...(r.selector ? { selector: { ...r.selector } } : {}) });
  return { ...ref(t), ...(t.stable ? { stable: ref(t.stable) } : {}) };
}
