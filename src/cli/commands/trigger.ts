// `trigger NAMESPACE/DEPLOYMENT`: a manual trigger for what no metric sees, through the daemon's API
// (checklist 5.1: a critical vulnerability reverts at once; user complaints or a partial failure page).
import type { Command } from 'commander';
import { UsageError } from '../../errors/usage-error.js';
import { postToDaemon, refusal } from '../daemon-api.js';
import type { Io } from '../io.js';

interface Flags {
  tier: string;
  reason: string;
  by: string;
  url?: string;
}

/** Exit codes: 0 recorded (and acted on); 2 refused (401, 403, 409 nothing guarded, 503 not leader) or unreachable; 3 the daemon failed. */
export function registerTrigger(program: Command, io: Io): void {
  program
    .command('trigger')
    .description("a manual trigger on the release being guarded: immediate reverts at once (a critical vulnerability), considered pages for approval (user complaints, a partial failure); through the daemon's API")
    .argument('<namespace/deployment>', 'the guarded Deployment, e.g. voice-production/voice-server')
    .requiredOption('--tier <tier>', 'immediate | considered')
    .requiredOption('--reason <text>', 'what was found (recorded, and in the messages)')
    .requiredOption('--by <name>', 'who triggers it')
    .option('--url <url>', "the daemon's base URL (env ROLLBACK_GUARD_URL)")
    .action(async (target: string, flags: Flags) => {
      if (!/^[a-z0-9-]+\/[a-z0-9.-]+$/.test(target)) throw new UsageError(`${JSON.stringify(target)} is not NAMESPACE/DEPLOYMENT; write it like voice-production/voice-server`);
      if (flags.tier !== 'immediate' && flags.tier !== 'considered') throw new UsageError(`--tier ${JSON.stringify(flags.tier)}: use immediate or considered`);
      const answer = await postToDaemon(flags.url, 'v1/triggers', { target, tier: flags.tier, reason: flags.reason, by: flags.by });
      if (answer.ok) {
        io.out(`decision ${String(answer.body.decisionId)}: ${String(answer.body.action)} on release ${String(answer.body.releaseId)}`);
        return;
      }
      io.err(`rollback-guard: trigger refused (${answer.status}): ${refusal(answer)}`);
      io.exitCode = answer.status >= 500 && answer.status !== 503 ? 3 : 2;
    });
}
