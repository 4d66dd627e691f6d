// Builds the Kubernetes clients the guard uses, from (in order): an explicit server URL (tests, or a proxy such as
// `kubectl proxy`), in-cluster service account config, or KUBECONFIG / ~/.kube/config.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createConfiguration } from '@kubernetes/client-node/dist/gen/configuration.js';
import { ServerConfiguration } from '@kubernetes/client-node/dist/gen/servers.js';
import { KubernetesError } from '../../errors/kubernetes-error.js';
import { inClusterAccess, TokenFileAccess, type KubeAccess } from './kube-access.js';
import { appsApi, coordinationApi, eventsApi, type AppsApi, type CoordinationApi, type EventsApi } from './kube-api.js';

export interface KubeConnectionOptions {
  /** API server URL; skips kubeconfig. Plain http:// is allowed (no TLS to verify). Env: ROLLBACK_GUARD_KUBE_SERVER. */
  server?: string;
  /** Bearer token file for `server` (e.g. a projected service account token), re-read every minute. */
  tokenFile?: string;
  /** Per-call timeout in ms. Default 10000. */
  timeoutMs?: number;
}

export interface KubeClients {
  access: KubeAccess;
  apps: AppsApi;
  coordination: CoordinationApi;
  events: EventsApi;
  /** Where the clients point, for messages (no credentials). */
  server: string;
  timeoutMs: number;
}

export async function kubeClients(options: KubeConnectionOptions = {}, env: NodeJS.ProcessEnv = process.env): Promise<KubeClients> {
  if (options.server) return serverClients({ ...options, server: options.server });
  let access: KubeAccess | undefined;
  try {
    access = inClusterAccess(env) ?? (await kubeconfigAccess(env));
  } catch (err) {
    throw configError(err);
  }
  return clientsFor(access, options.timeoutMs);
}

/** Clients for an explicit server URL (tests, `kubectl proxy`); needs no kubeconfig. */
export function serverClients(options: KubeConnectionOptions & { server: string }): KubeClients {
  const server = options.server.replace(/\/+$/, '');
  let access: KubeAccess;
  // The server was given: the advice is about what was given, not about KUBECONFIG or in-cluster access.
  if (!/^https?:\/\//.test(server)) {
    throw new KubernetesError('RG_K8S_CONFIG', `--kube-server ${JSON.stringify(options.server)} is not a URL; write it like https://10.0.0.1:6443 or http://127.0.0.1:8001 (kubectl proxy)`);
  }
  try {
    access = new TokenFileAccess({ server, ...(options.tokenFile ? { tokenFile: options.tokenFile } : {}) });
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new KubernetesError('RG_K8S_CONFIG', `cannot read the Kubernetes token file ${options.tokenFile ?? ''} (${code ?? (err as Error).message}); check ROLLBACK_GUARD_KUBE_TOKEN_FILE and that the file is mounted and readable`, { cause: err });
  }
  return clientsFor(access, options.timeoutMs);
}

export function clientsFor(access: KubeAccess, timeoutMs = 10_000): KubeClients {
  const cluster = access.getCurrentCluster();
  if (!cluster) {
    throw new KubernetesError('RG_K8S_CONFIG', 'no Kubernetes cluster configured: the kubeconfig has no current context; set KUBECONFIG or pass --kube-server URL');
  }
  const config = createConfiguration({ baseServer: new ServerConfiguration(cluster.server, {}), authMethods: { default: access } });
  return { access, apps: appsApi(config), coordination: coordinationApi(config), events: eventsApi(config), server: cluster.server, timeoutMs };
}

function configError(err: unknown): KubernetesError {
  return new KubernetesError('RG_K8S_CONFIG', `cannot load Kubernetes access: ${(err as Error).message}; set KUBECONFIG, run in-cluster, or pass --kube-server URL (\`run --no-kubernetes\` starts the daemon without it)`, { cause: err });
}

/** KUBECONFIG / ~/.kube/config through the client's KubeConfig (exec, OIDC and cloud auth included). */
async function kubeconfigAccess(env: NodeJS.ProcessEnv): Promise<KubeAccess> {
  const files = env.KUBECONFIG ? env.KUBECONFIG.split(path.delimiter).filter(Boolean) : [path.join(env.HOME ?? os.homedir(), '.kube', 'config')];
  // KubeConfig.loadFromDefault would fall back to http://localhost:8080 here, silently; say what is missing instead.
  if (!env.KUBECONFIG && !fs.existsSync(files[0]!)) throw new Error(`this is not a pod, KUBECONFIG is not set and ${files[0]} does not exist`);
  // Loaded only here: importing KubeConfig loads the whole client (~0.5 s, ~30 MB); pods never take this path.
  const { KubeConfig } = await import('@kubernetes/client-node');
  const config = new KubeConfig();
  // As loadFromDefault merges KUBECONFIG's files, but from `env` (testable) rather than process.env.
  config.loadFromFile(files[0]!);
  for (const f of files.slice(1)) {
    const more = new KubeConfig();
    more.loadFromFile(f);
    config.mergeConfig(more);
  }
  return config;
}
