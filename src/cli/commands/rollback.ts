import os from 'node:os';
import type { Command } from 'commander';
import type { RollbackStrategy } from '../../adapters/kubernetes/rollback-plan.js';
import { findRelease, recordRollback, recordVerification } from '../../adapters/sqlite/rollback-log.js';
import { openDecisionLog } from '../../adapters/sqlite/sqlite-decision-store.js';
import { UsageError } from '../../errors/usage-error.js';
import type { Io } from '../io.js';
import { addKubeOptions, kubeConnection, type KubeFlags } from '../kube-options.js';
import { parseDurationOption } from '../option-parsers.js';

interface RollbackFlags extends KubeFlags {
  reason: string;
  by?: string;
  dryRun?: boolean;
  db?: string;
  strategy: string;
  container?: string;
  verifyTimeout: string;
  verify: boolean;
}

/**
 * `rollback NAMESPACE/DEPLOYMENT`: a manual, logged rollback through the guard's safe path (the same refusals,
 * the same precondition), for triggers no metric sees, e.g. a critical security vulnerability (checklist 5.1).
 */
// Exit codes as in main.ts: 0 reverted (or would revert); 1 reverted but the rollout did not complete in time;
// 2 refused, skipped or failed (the reason on stderr), or bad usage.
export function registerRollback(program: Command, io: Io): void {
  const cmd = program
    .command('rollback')
    .description('roll a Deployment back like `kubectl rollout undo`, safely (refuses when paused, ping-pong, GitOps re-apply), logged in the decision log, then verify the rollout')
    .argument('<namespace/deployment>', 'the Deployment, e.g. voice-production/voice-server')
    .requiredOption('--reason <text>', 'why (annotated on the Deployment and logged)')
    .option('--by <name>', 'who asks for it, recorded with the rollback (default: the login name)')
    .option('--dry-run', 'decide and log "would roll back from revision X to Y"; patch nothing')
    .option('--db <file>', 'decision log to record the rollback in (env ROLLBACK_GUARD_DB; required)')
    .option('--strategy <strategy>', 'undo (like kubectl rollout undo) | previous-version-annotation', 'undo')
    .option('--container <name>', 'with previous-version-annotation: the container whose image to set (default: the only one, or the one named like the Deployment)')
    .option('--verify-timeout <duration>', 'how long to wait for the rollout to complete after the rollback', '5m')
    .option('--no-verify', 'do not wait for the rollout');
  addKubeOptions(cmd).action(async (target: string, flags: RollbackFlags) => {
    const m = /^([a-z0-9-]+)\/([a-z0-9.-]+)$/.exec(target);
    if (!m) throw new UsageError(`${JSON.stringify(target)} is not NAMESPACE/DEPLOYMENT; write it like voice-production/voice-server`);
    const ref = { namespace: m[1]!, deployment: m[2]! };
    flags.by ??= os.userInfo().username;
    if (flags.by === 'rollback-guard') throw new UsageError(`--by rollback-guard is reserved for the guard's automatic rollbacks; give your name`);
    const strategy: RollbackStrategy =
      flags.strategy === 'undo' ? { kind: 'undo' }
      : flags.strategy === 'previous-version-annotation' ? { kind: 'previous-version-annotation', ...(flags.container ? { container: flags.container } : {}) }
      : (() => { throw new UsageError(`--strategy ${JSON.stringify(flags.strategy)}: use undo or previous-version-annotation`); })();
    const verifyMs = flags.verify ? parseDurationOption('--verify-timeout', flags.verifyTimeout) : 0;
    const dbFile = flags.db ?? process.env.ROLLBACK_GUARD_DB;
    if (!dbFile) throw new UsageError('--db FILE (or ROLLBACK_GUARD_DB) is required: every rollback is recorded in the decision log');

    // Loaded here, not at the top: @kubernetes/client-node takes ~0.5 s to import, and only this command needs it.
    const [{ KubeActuator }, { kubeClients }] = await Promise.all([import('../../adapters/kubernetes/kube-actuator.js'), import('../../adapters/kubernetes/kube-client.js')]);
    // Kubernetes access first: a command that cannot reach a cluster leaves no decision log behind.
    const k = await kubeClients(kubeConnection(flags));
    const store = openDecisionLog(dbFile);
    try {
      const actuator = new KubeActuator(k, { strategyFor: () => strategy });
      const requestedAt = Date.now();
      const outcome = await actuator.rollback({ ...ref, reason: flags.reason, by: flags.by, dryRun: flags.dryRun === true });
      // Linked to the guarded release it reverts, when the decision log knows that revision.
      const release = outcome.kind === 'rolled-back' || outcome.kind === 'would-roll-back' ? findRelease(store.db, ref, outcome.fromRevision) : undefined;
      const id = recordRollback(store.db, { ...ref, ...(release ? { releaseId: release.id } : {}), requestedAt, finishedAt: Date.now(), by: flags.by, reason: flags.reason, strategy: strategy.kind, dryRun: flags.dryRun === true, outcome });
      const name = `${ref.namespace}/${ref.deployment}`;
      switch (outcome.kind) {
        case 'would-roll-back':
          io.out(`dry run: would roll back ${name} from revision ${outcome.fromRevision} to revision ${outcome.toRevision} (${outcome.images.join(', ')}); nothing patched; logged as rollback ${id} in ${dbFile}`);
          return;
        case 'rolled-back': {
          io.out(`rolled back ${name} from revision ${outcome.fromRevision} to revision ${outcome.toRevision} (${outcome.images.join(', ')}); logged as rollback ${id} in ${dbFile}`);
          if (!verifyMs) return;
          const v = await actuator.verifyRollout(ref, verifyMs);
          recordVerification(store.db, id, v, Date.now());
          if (v.kind === 'complete') io.out(`rollback-complete: ${v.detail}`);
          else {
            io.err(`rollback-failed: ${v.detail}`);
            io.exitCode = 1;
          }
          return;
        }
        case 'skipped':
          io.err(`not rolled back (skipped): ${outcome.reason}; logged as rollback ${id}`);
          io.exitCode = 2;
          return;
        case 'refused':
          io.err(`refused (${outcome.code}): ${outcome.reason}; logged as rollback ${id}`);
          io.exitCode = 2;
          return;
        case 'failed':
          io.err(`rollback failed: ${outcome.reason}; logged as rollback ${id}`);
          io.exitCode = 2;
          return;
      }
    } finally {
      store.close();
    }
  });
}
