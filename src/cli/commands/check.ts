import type { Command } from 'commander';
import { formatProblem, RulesInvalidError } from '../../errors/rules-invalid-error.js';
import { loadRulesFile } from '../load-rules-file.js';
import type { Io } from '../io.js';

/** `check RULES...`: validate rules files like `promtool check rules`; exit 1 if any is invalid. */
export function registerCheck(program: Command, io: Io): void {
  program
    .command('check')
    .description('validate rules files: one summary line per file, every problem with its line and column; exit 1 if any file is invalid')
    .argument('<rules...>', 'rules files to check')
    .action((files: string[]) => {
      let failed = 0;
      for (const file of files) {
        try {
          const rs = loadRulesFile(file);
          const immediate = rs.rules.filter((r) => r.tier === 'immediate').length;
          io.out(`${file}: OK: ${rs.rules.length} rules (${immediate} immediate, ${rs.rules.length - immediate} considered), ${rs.baselines.length} baselines`);
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
