import type { Command } from 'commander';
import { openChecked } from '../../adapters/sqlite/decision-log-reader.js';
import { DEFAULT_PRUNE_BATCH, DEFAULT_RETENTION_MS, pruneEvaluations } from '../../adapters/sqlite/prune-evaluations.js';
import { formatDuration } from '../../core/duration.js';
import { toRfc3339 } from '../../core/time-format.js';
import { UsageError } from '../../errors/usage-error.js';
import { addDbOption } from '../incident/log-filter-options.js';
import type { Io } from '../io.js';
import { parseDurationOption } from '../option-parsers.js';

/** `prune`: delete old evaluations by hand; releases, decisions and what other features logged are kept. */
export function registerPrune(program: Command, io: Io): void {
  addDbOption(program.command('prune').description('delete evaluations older than a given age from a decision log (releases, decisions, rollbacks and notifications are kept)'))
    .option('--older-than <duration>', 'delete evaluations older than this', formatDuration(DEFAULT_RETENTION_MS))
    .option('--batch <rows>', 'rows deleted per transaction', String(DEFAULT_PRUNE_BATCH))
    .action((flags: { db: string; olderThan: string; batch: string }) => {
      const olderThan = parseDurationOption('--older-than', flags.olderThan);
      if (!/^[1-9]\d*$/.test(flags.batch)) throw new UsageError(`--batch ${JSON.stringify(flags.batch)} is not a positive integer`);
      const db = openChecked(flags.db, { readonly: false });
      try {
        const r = pruneEvaluations(db, olderThan, Number(flags.batch));
        io.out(`pruned ${r.deleted} evaluation${r.deleted === 1 ? '' : 's'} before ${toRfc3339(Date.parse(r.cutoff))} from ${flags.db} in ${r.batches} batch${r.batches === 1 ? '' : 'es'}`);
      } finally {
        db.close();
      }
    });
}
