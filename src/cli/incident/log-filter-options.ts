// The options log, explain and report share: which decision log, which releases, which output format.
import { Option, type Command } from 'commander';
import type { LogFilter } from '../../adapters/sqlite/decision-log-reader.js';
import { UsageError } from '../../errors/usage-error.js';
import { parseDurationOption, parseTime } from '../option-parsers.js';

export const DEFAULT_DB = 'decisions.db';
const ACTIONS = ['rollback', 'page', 'escalate', 'resolve', 'promote'] as const;

export interface FilterFlags {
  db: string;
  since?: string;
  from?: string;
  to?: string;
  release?: string;
  target?: string;
  action?: string;
  json?: boolean;
  csv?: boolean;
}

/** The daemon's own `ROLLBACK_GUARD_DB` is the default, so `kubectl exec … rollback-guard log` reads its log. */
export function addDbOption(cmd: Command): Command {
  return cmd.addOption(new Option('--db <file>', 'decision log to read').env('ROLLBACK_GUARD_DB').default(DEFAULT_DB));
}

export function addFilterOptions(cmd: Command): Command {
  return addDbOption(cmd)
    .option('--since <duration>', 'releases guarded in the last DURATION, e.g. 2h or 7d (default: all)')
    .option('--from <time>', 'releases guarded at or after this time, RFC 3339')
    .option('--to <time>', 'releases started at or before this time, RFC 3339')
    .option('--release <id>', 'only this release')
    .option('--target <ns/name>', 'only releases of this Deployment, NAMESPACE/NAME')
    .option('--action <list>', `only releases with these decisions, comma-separated: ${ACTIONS.join(',')}`);
}

export function parseReleaseId(text: string): number {
  if (!/^[1-9]\d*$/.test(text)) throw new UsageError(`--release ${JSON.stringify(text)} is not a release id; give a positive integer, e.g. --release 3`);
  return Number(text);
}

export function parseFilter(flags: FilterFlags, now: number): LogFilter {
  const filter: LogFilter = {};
  if (flags.since !== undefined && (flags.from !== undefined || flags.to !== undefined)) throw new UsageError('give either --since or --from/--to, not both');
  if (flags.since !== undefined) filter.from = new Date(now - parseDurationOption('--since', flags.since)).toISOString();
  if (flags.from !== undefined) filter.from = new Date(parseTime('--from', flags.from)).toISOString();
  if (flags.to !== undefined) filter.to = new Date(parseTime('--to', flags.to)).toISOString();
  if (filter.from !== undefined && filter.to !== undefined && filter.from > filter.to) throw new UsageError('--from is after --to');
  if (flags.release !== undefined) filter.releaseId = parseReleaseId(flags.release);
  if (flags.target !== undefined) {
    const m = /^([^/\s]+)\/([^/\s]+)$/.exec(flags.target);
    if (!m) throw new UsageError(`--target ${JSON.stringify(flags.target)} is not NAMESPACE/NAME; write it like voice-production/voice-server`);
    filter.target = { namespace: m[1]!, deployment: m[2]! };
  }
  if (flags.action !== undefined) {
    const actions = flags.action.split(',').map((a) => a.trim()).filter((a) => a !== '');
    const bad = actions.filter((a) => !(ACTIONS as readonly string[]).includes(a));
    if (bad.length || !actions.length) throw new UsageError(`--action ${JSON.stringify(flags.action)}: ${bad.length ? `${bad.join(', ')} is not an action` : 'no action given'}; use ${ACTIONS.join(', ')}`);
    filter.actions = actions;
  }
  if (flags.json && flags.csv) throw new UsageError('give either --json or --csv, not both');
  return filter;
}

/** One CSV field (RFC 4180): quoted when it holds a comma, quote or line break. */
export function csvField(v: string | number | null | undefined): string {
  const s = v === null || v === undefined ? '' : String(v);
  return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}
