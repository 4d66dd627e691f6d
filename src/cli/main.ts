// The command line: thin composition of the core, the adapters and the guard.
import { Command, CommanderError } from 'commander';
import { RollbackGuardError } from '../errors/rollback-guard-error.js';
import { RulesInvalidError } from '../errors/rules-invalid-error.js';
import { processIo, type Io } from './io.js';
import { version } from './version.js';

/** Exit codes: 0 ok; 1 `check` found invalid rules; 2 bad input or usage; 3 an internal error (a bug). */
export const EXIT = { ok: 0, checkFailed: 1, badInput: 2, internal: 3 } as const;

type Register = (program: Command, io: Io) => void;

// Commands are loaded on demand: a command's module imports its adapters (axios, better-sqlite3, the Kubernetes
// client, ...), and `rollback-guard log` should not pay for the Prometheus client. The order is --help's.
const COMMANDS: Record<string, () => Promise<Register>> = {
  check: async () => (await import('./commands/check.js')).registerCheck,
  schema: async () => (await import('./commands/schema.js')).registerSchema,
  replay: async () => (await import('./commands/replay.js')).registerReplay,
  record: async () => (await import('./commands/record.js')).registerRecord,
  backtest: async () => (await import('./commands/backtest.js')).registerBacktest,
  test: async () => (await import('./commands/test.js')).registerTest,
  run: async () => (await import('./commands/run.js')).registerRun,
  rollback: async () => (await import('./commands/rollback.js')).registerRollback,
  log: async () => (await import('./commands/log.js')).registerLog,
  explain: async () => (await import('./commands/explain.js')).registerExplain,
  report: async () => (await import('./commands/report.js')).registerReport,
  prune: async () => (await import('./commands/prune.js')).registerPrune,
  notify: async () => (await import('./commands/notify.js')).registerNotify,
  approve: async () => (await import('./commands/approve.js')).registerApprove,
  decline: async () => (await import('./commands/approve.js')).registerApprove,
  trigger: async () => (await import('./commands/trigger.js')).registerTrigger,
};

/** The program with the command named in argv (or all of them, for help and unknown commands). */
export async function buildProgram(io: Io, argv: readonly string[] = []): Promise<Command> {
  const named = argv[2];
  const wanted = named === '-V' || named === '--version' ? [] : named !== undefined && named in COMMANDS ? [named] : Object.keys(COMMANDS);
  const registers = [...new Set(await Promise.all(wanted.map((n) => COMMANDS[n]!())))]; // approve and decline share one
  const program = new Command('rollback-guard')
    .description('Guards releases of a Kubernetes Deployment: scores Prometheus metrics against tiered rollback rules, and logs every decision with its evidence.')
    .version(version(), '-V, --version')
    .showHelpAfterError('(run with --help for usage)')
    .configureOutput({ writeOut: (s) => io.out(s.trimEnd()), writeErr: (s) => io.err(s.trimEnd()) })
    .exitOverride();
  for (const register of registers) register(program, io);
  program.commands.forEach((c) => c.exitOverride().configureOutput({ writeOut: (s) => io.out(s.trimEnd()), writeErr: (s) => io.err(s.trimEnd()) }).showHelpAfterError('(run with --help for usage)'));
  return program;
}

export async function main(argv: readonly string[], io: Io = processIo()): Promise<number> {
  try {
    const program = await buildProgram(io, argv);
    await program.parseAsync([...argv]);
    return io.exitCode;
  } catch (err) {
    if (err instanceof CommanderError) {
      // help and version "errors" are successful exits; everything else commander rejects is a usage error
      return err.exitCode === 0 ? EXIT.ok : EXIT.badInput;
    }
    if (err instanceof RulesInvalidError || err instanceof RollbackGuardError) {
      io.err(`rollback-guard: error: ${err.message}`);
      return EXIT.badInput;
    }
    io.err(`rollback-guard: internal error (please report it with the command you ran): ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
    return EXIT.internal;
  }
}
