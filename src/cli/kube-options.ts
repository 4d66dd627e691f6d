// Kubernetes access from flags and environment: in-cluster config, KUBECONFIG / ~/.kube/config, or an explicit
// server URL. Tokens only from files (never flags: they show up in `ps` and shell history).
import type { Command } from 'commander';
import type { KubeConnectionOptions } from '../adapters/kubernetes/kube-client.js';
import { parseDurationOption } from './option-parsers.js';

export interface KubeFlags {
  kubeServer?: string;
  kubeTimeout?: string;
}

export function addKubeOptions(cmd: Command): Command {
  return cmd
    .option('--kube-server <url>', 'Kubernetes API server URL, instead of in-cluster config or KUBECONFIG (env ROLLBACK_GUARD_KUBE_SERVER; token from env ROLLBACK_GUARD_KUBE_TOKEN_FILE)')
    .option('--kube-timeout <duration>', 'per-call timeout of Kubernetes API calls (default 10s)');
}

export function kubeConnection(flags: KubeFlags, env: NodeJS.ProcessEnv = process.env): KubeConnectionOptions {
  const o: KubeConnectionOptions = {};
  const server = flags.kubeServer ?? env.ROLLBACK_GUARD_KUBE_SERVER;
  if (server) o.server = server;
  if (env.ROLLBACK_GUARD_KUBE_TOKEN_FILE) o.tokenFile = env.ROLLBACK_GUARD_KUBE_TOKEN_FILE;
  if (flags.kubeTimeout) o.timeoutMs = parseDurationOption('--kube-timeout', flags.kubeTimeout);
  return o;
}
