// `approve <id>` / `decline <id>`: record a verdict on a considered decision through the daemon's HTTP API.
import type { Command } from 'commander';
import { UsageError } from '../../errors/usage-error.js';
import { postToDaemon, refusal } from '../daemon-api.js';
import type { Io } from '../io.js';

interface Flags {
  by: string;
  reason?: string;
  url?: string;
}

/** Exit codes: 0 recorded; 2 refused (401, 403 below notifications.approvalLevel, 404, 409, 410, 503 not leader) or unreachable; 3 the daemon failed. */
export function registerApprove(program: Command, io: Io): void {
  for (const verb of ['approve', 'decline'] as const) {
    program
      .command(verb)
      .description(`${verb} a considered rollback (a pending page) by its decision id, through the daemon's API (token from ROLLBACK_GUARD_API_TOKEN or ROLLBACK_GUARD_API_TOKEN_FILE)`)
      .argument('<id>', 'decision id, as in the page')
      .requiredOption('--by <name>', 'who decides (recorded in the decision log; with notifications.approvalLevel above 1, a name listed under approvers at that level or higher)')
      .option('--reason <text>', 'why (recorded with the verdict)')
      .option('--url <url>', 'the daemon\'s base URL (env ROLLBACK_GUARD_URL)')
      .action(async (id: string, flags: Flags) => {
        if (!/^\d+$/.test(id)) throw new UsageError(`"${id}" is not a decision id; use the number from the page`);
        const answer = await postToDaemon(flags.url, `v1/decisions/${id}/${verb}`, { by: flags.by, ...(flags.reason ? { reason: flags.reason } : {}) });
        const body = answer.body as { verdict?: string; by?: string; at?: string; decision?: number; outcome?: { ok: boolean; detail: string } };
        if (answer.ok) {
          io.out(`decision ${body.decision} ${body.verdict} by ${body.by} at ${body.at}${body.outcome ? `; rollback ${body.outcome.ok ? 'done' : 'FAILED'}: ${body.outcome.detail}` : ''}`);
          io.exitCode = body.outcome && !body.outcome.ok ? 1 : 0;
          return;
        }
        io.err(`rollback-guard: ${verb} refused (${answer.status}): ${refusal(answer)}`);
        io.exitCode = answer.status >= 500 && answer.status !== 503 ? 3 : 2;
      });
  }
}
