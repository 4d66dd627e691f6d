import fs from 'node:fs';
import path from 'node:path';
import type { Command } from 'commander';
import { DecisionLogReader, type Row } from '../../adapters/sqlite/decision-log-reader.js';
import { parseRules } from '../../core/parse-rules.js';
import { ruleQueryText } from '../../core/rule-parts.js';
import type { Rule } from '../../core/ruleset.js';
import { UsageError } from '../../errors/usage-error.js';
import { addDbOption, parseReleaseId } from '../incident/log-filter-options.js';
import { summarizeReleases } from '../incident/release-summary.js';
import { renderReport, type RuleSeries } from '../incident/render-report.js';
import type { Io } from '../io.js';

/** Time columns a notification row may carry, in order of preference (the paging feature defines the table). */
const NOTIFICATION_TIME = ['sent_at', 'delivered_at', 'at', 'created_at', 'queued_at'];

/** `report`: one self-contained HTML page about a release, for the incident review. */
export function registerReport(program: Command, io: Io): void {
  addDbOption(program.command('report').description('write a self-contained HTML report of one release: each rule against its threshold, spans, decisions, notifications'))
    .requiredOption('--release <id>', 'the release to report on (see `rollback-guard log`)')
    .option('--out <file>', 'write the HTML here (default: standard output)')
    .action((flags: { db: string; release: string; out?: string }) => {
      const id = parseReleaseId(flags.release);
      const reader = DecisionLogReader.open(flags.db);
      let html: string;
      try {
        const release = reader.release(id);
        if (!release) throw new UsageError(`release ${id} is not in ${flags.db}; list the releases with \`rollback-guard log --db ${flags.db}\``);
        const summary = summarizeReleases(reader, [release])[0]!;
        let rules: Rule[] = [];
        const rf = reader.rulesFile(release.rules_hash);
        try {
          if (rf) rules = parseRules(rf.content, rf.file).rules;
        } catch {
          rules = []; // charts still come from the evaluations; only descriptions are lost
        }
        const byRule = new Map<string, RuleSeries>(rules.map((r) => [r.name, { rule: r.name, description: r.description, tier: r.tier, query: ruleQueryText(r), comparison: r.kind === 'judge' ? 'below' : r.comparison, points: [] }]));
        let last = Date.parse(release.last_evaluated_at ?? release.window_ends_at);
        for (const e of reader.evaluations(id)) {
          let series = byRule.get(e.rule);
          if (!series) byRule.set(e.rule, (series = { rule: e.rule, points: [] }));
          const t = Date.parse(e.at);
          series.points.push({ t, value: e.value, threshold: e.threshold, state: e.state });
          if (t > last) last = t;
        }
        const notifications = reader
          .related('notifications', { decisionIds: summary.decisions.map((d) => d.id), releaseIds: [id] })
          .map((row: Row) => {
            const col = NOTIFICATION_TIME.find((c) => typeof row[c] === 'string');
            return { t: col ? Date.parse(row[col] as string) : Number.NaN, decisionId: typeof row.decision_id === 'number' ? row.decision_id : undefined, row };
          })
          .filter((nt) => !Number.isNaN(nt.t));
        for (const d of summary.decisions) last = Math.max(last, Date.parse(d.at));
        if (summary.rollbackCompleteAt !== undefined) last = Math.max(last, Date.parse(summary.rollbackCompleteAt));
        html = renderReport({
          summary,
          rules: [...byRule.values()].filter((r) => r.points.length),
          notifications,
          t0: Date.parse(release.started_at),
          t1: Math.max(last, Date.parse(release.started_at) + 60_000),
          generatedAt: new Date().toISOString().replace(/\.\d+Z$/, 'Z'),
        });
      } finally {
        reader.close();
      }
      if (flags.out === undefined) io.out(html);
      else {
        // Written under a temporary name and renamed, so a reader never sees half a report.
        const tmp = `${flags.out}.${process.pid}.tmp`;
        try {
          fs.writeFileSync(tmp, html);
          fs.renameSync(tmp, flags.out);
        } catch (err) {
          fs.rmSync(tmp, { force: true });
          // The error names the temporary file; say what it means for the path the user gave.
          const code = (err as NodeJS.ErrnoException).code;
          const why = code === 'ENOENT' ? `its directory ${path.dirname(flags.out)} does not exist` : code === 'EACCES' || code === 'EPERM' ? 'permission denied' : code === 'EISDIR' ? 'it is a directory' : (err as Error).message;
          throw new UsageError(`cannot write the report to ${flags.out}: ${why}`, { cause: err });
        }
        io.err(`wrote ${flags.out}`);
      }
    });
}
