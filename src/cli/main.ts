// The command line: thin composition of the core, the adapters and the guard.
import fs from 'node:fs';
import { Command, CommanderError } from 'commander';
import { RollbackGuardError } from '../errors/rollback-guard-error.js';
import { RulesInvalidError } from '../errors/rules-invalid-error.js';
import { registerApprove } from './commands/approve.js';
import { registerCheck } from './commands/check.js';
import { registerNotify } from './commands/notify.js';
import { registerRecord } from './commands/record.js';
import { registerReplay } from './commands/replay.js';
import { registerSchema } from './commands/schema.js';
import { processIo, type Io } from './io.js';

/** Exit codes: 0 ok; 1 `check` found invalid rules; 2 bad input or usage; 3 an internal error (a bug). */
export const EXIT = { ok: 0, checkFailed: 1, badInput: 2, internal: 3 } as const;

export function version(): string {
  const pkg = JSON.parse(fs.readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };
  return pkg.version;
}

export function buildProgram(io: Io): Command {
  const program = new Command('rollback-guard')
    .description('Guards releases of a Kubernetes Deployment: scores Prometheus metrics against tiered rollback rules, and logs every decision with its evidence.')
    .version(version(), '-V, --version')
    .showHelpAfterError('(run with --help for usage)')
    .configureOutput({ writeOut: (s) => io.out(s.trimEnd()), writeErr: (s) => io.err(s.trimEnd()) })
    .exitOverride();
  for (const register of [registerCheck, registerSchema, registerReplay, registerRecord, registerNotify, registerApprove]) {
    register(program, io);
  }
  program.commands.forEach((c) => c.exitOverride().configureOutput({ writeOut: (s) => io.out(s.trimEnd()), writeErr: (s) => io.err(s.trimEnd()) }).showHelpAfterError('(run with --help for usage)'));
  return program;
}

export async function main(argv: readonly string[], io: Io = processIo()): Promise<number> {
  const program = buildProgram(io);
  try {
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
