// `approve <id>` / `decline <id>`: record a verdict on a considered decision through the daemon's HTTP API.
import type { Command } from 'commander';
import { readSecret } from '../../adapters/secrets/read-secret.js';
import { UsageError } from '../../errors/usage-error.js';
import type { Io } from '../io.js';

interface Flags {
  by: string;
  reason?: string;
  url?: string;
}

/** Exit codes: 0 recorded; 2 refused (401, 404, 409, 410, 503 not leader) or unreachable; 3 the daemon failed. */
export function registerApprove(program: Command, io: Io): void {
  for (const verb of ['approve', 'decline'] as const) {
    program
      .command(verb)
      .description(`${verb} a considered rollback (a pending page) by its decision id, through the daemon's API (token from ROLLBACK_GUARD_API_TOKEN or ROLLBACK_GUARD_API_TOKEN_FILE)`)
      .argument('<id>', 'decision id, as in the page')
      .requiredOption('--by <name>', 'who decides (recorded in the decision log)')
      .option('--reason <text>', 'why (recorded with the verdict)')
      .option('--url <url>', 'the daemon\'s base URL (env ROLLBACK_GUARD_URL)')
      .action(async (id: string, flags: Flags) => {
        const base = flags.url ?? process.env.ROLLBACK_GUARD_URL;
        if (!base) throw new UsageError('give the daemon\'s URL with --url or ROLLBACK_GUARD_URL, e.g. http://rollback-guard.voice-production:8080');
        if (!/^\d+$/.test(id)) throw new UsageError(`"${id}" is not a decision id; use the number from the page`);
        const token = readSecret('ROLLBACK_GUARD_API_TOKEN');
        const url = new URL(`v1/decisions/${id}/${verb}`, base.endsWith('/') ? base : base + '/');
        let res: Response;
        try {
          res = await fetch(url, {
            method: 'POST',
            headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
            body: JSON.stringify({ by: flags.by, ...(flags.reason ? { reason: flags.reason } : {}) }),
            signal: AbortSignal.timeout(120_000),
          });
        } catch (err) {
          const c = (err as { cause?: { code?: string; message?: string } }).cause;
          const cause = c?.code ?? c?.message ?? (err as Error).message;
          throw new UsageError(`cannot reach the daemon at ${url.origin}: ${cause}; check --url / ROLLBACK_GUARD_URL`, { cause: err });
        }
        const body = (await res.json().catch(() => ({}))) as { message?: string; verdict?: string; by?: string; at?: string; decision?: number; outcome?: { ok: boolean; detail: string }; leader?: string };
        if (res.ok) {
          io.out(`decision ${body.decision} ${body.verdict} by ${body.by} at ${body.at}${body.outcome ? `; rollback ${body.outcome.ok ? 'done' : 'FAILED'}: ${body.outcome.detail}` : ''}`);
          io.exitCode = body.outcome && !body.outcome.ok ? 1 : 0;
          return;
        }
        io.err(`rollback-guard: ${verb} refused (${res.status}): ${body.message ?? res.statusText}`);
        io.exitCode = res.status >= 500 && res.status !== 503 ? 3 : 2;
      });
  }
}
