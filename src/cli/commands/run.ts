import type { Command } from 'commander';
import { daemonConfig, type RunFlags } from '../../daemon/daemon-config.js';
import { pagerDutyAgentFromEnv } from '../../adapters/pagerduty/pagerduty-agent.js';
import { runDaemon } from '../../daemon/run-daemon.js';
import type { Io } from '../io.js';
import { version } from '../version.js';
import { addKubeOptions, kubeConnection, type KubeFlags } from '../kube-options.js';
import { addPrometheusOptions, prometheusConnection, type PrometheusFlags } from '../prometheus-options.js';
import os from 'node:os';

/** `run`: the daemon. Configuration from flags and environment (README: Configuration). */
export function registerRun(program: Command, io: Io): void {
  const cmd = program
    .command('run')
    .description('run the guard: watch releases, evaluate the rules on a schedule, revert or page, log every decision')
    .option('--rules <file>', 'rules file, repeatable: one per guarded Deployment (env ROLLBACK_GUARD_RULES, comma-separated)', (v: string, prev: string[] = []) => [...prev, v])
    .option('--db <file>', 'decision log (env ROLLBACK_GUARD_DB; default decisions.db)')
    .option('--listen <host:port>', 'HTTP address (env ROLLBACK_GUARD_LISTEN; default 0.0.0.0:8080)')
    .option('--interval <duration>', "evaluation interval (env ROLLBACK_GUARD_INTERVAL; default: the rules file's interval, 15s)")
    .option('--dry-run', 'decide and log, never patch the cluster (env ROLLBACK_GUARD_DRY_RUN)')
    .option('--blind-after <duration>', 'page "guard blind" after Prometheus is unreadable this long (env ROLLBACK_GUARD_BLIND_AFTER; default 2m)')
    .option('--verify-timeout <duration>', "wait this long for a rollback's rollout (env ROLLBACK_GUARD_VERIFY_TIMEOUT; default 5m)")
    .option('--log-level <level>', 'fatal | error | warn | info | debug | trace | silent (env LOG_LEVEL; default info)');
  addKubeOptions(addPrometheusOptions(cmd))
    .option('--no-kubernetes', 'run without Kubernetes: no release is detected, so nothing is queried, guarded or reverted (to try the HTTP API, paging and settings)')
    .action(async (flags: RunFlags & PrometheusFlags & KubeFlags & { kubernetes: boolean }) => {
    const config = daemonConfig(flags, prometheusConnection(flags));
    const lease = process.env.ROLLBACK_GUARD_LEASE;
    const kube = flags.kubernetes
      ? {
          connection: kubeConnection(flags),
          instance: process.env.POD_NAME ?? os.hostname(),
          ...(lease
            ? { lease: { name: lease, ...(process.env.POD_NAMESPACE ? { namespace: process.env.POD_NAMESPACE } : {}), identity: process.env.POD_NAME ?? os.hostname(), ...advertised(config.port) } }
            : {}),
        }
      : undefined;
    const pagerdutyAgent = pagerDutyAgentFromEnv();
    const running = await runDaemon(config, { version: version(), ...(kube ? { kube } : {}), ...(pagerdutyAgent ? { pagerdutyAgent } : {}) });
    await running.done;
    io.exitCode = 0;
    // Stopped cleanly: a rollout verification cut off by the shutdown (resumed after the restart) must not keep
    // the process alive for the rest of its --verify-timeout. Unref'd: an idle process exits at once.
    setTimeout(() => process.exit(0), 2000).unref();
  });
}

/**
 * Where followers forward approvals to while this replica leads: ROLLBACK_GUARD_ADVERTISE_URL, else
 * http://<POD_IP>:<port> (the chart sets POD_IP from the downward API); neither: followers answer 503 instead.
 */
function advertised(port: number): { address?: string } {
  const url = process.env.ROLLBACK_GUARD_ADVERTISE_URL;
  if (url) return { address: url.replace(/\/+$/, '') };
  const ip = process.env.POD_IP;
  return ip ? { address: `http://${ip.includes(':') ? `[${ip}]` : ip}:${port}` } : {};
}
