// Builds the @kubernetes/client-node clients the guard uses, from (in order): an explicit server URL (tests, or a
// proxy such as `kubectl proxy`), in-cluster service account config, or KUBECONFIG / ~/.kube/config.
import fs from 'node:fs';
import { AppsV1Api, CoordinationV1Api, KubeConfig } from '@kubernetes/client-node';
import { KubernetesError } from '../../errors/kubernetes-error.js';

export interface KubeConnectionOptions {
  /** API server URL; skips kubeconfig. Plain http:// is allowed (no TLS to verify). Env: ROLLBACK_GUARD_KUBE_SERVER. */
  server?: string;
  /** Bearer token file for `server` (e.g. a projected service account token). */
  tokenFile?: string;
  /** Per-call timeout in ms. Default 10000. */
  timeoutMs?: number;
}

export interface KubeClients {
  config: KubeConfig;
  apps: AppsV1Api;
  coordination: CoordinationV1Api;
  /** Where the clients point, for messages (no credentials). */
  server: string;
  timeoutMs: number;
}

const IN_CLUSTER_TOKEN = '/var/run/secrets/kubernetes.io/serviceaccount/token';

export function kubeClients(options: KubeConnectionOptions = {}): KubeClients {
  const config = new KubeConfig();
  try {
    if (options.server) {
      const token = options.tokenFile ? fs.readFileSync(options.tokenFile, 'utf8').trim() : undefined;
      config.loadFromClusterAndUser(
        { name: 'explicit', server: options.server.replace(/\/+$/, ''), skipTLSVerify: options.server.startsWith('http://') },
        { name: 'explicit', ...(token ? { token } : {}) },
      );
    } else if (process.env.KUBERNETES_SERVICE_HOST && fs.existsSync(IN_CLUSTER_TOKEN)) {
      config.loadFromCluster();
    } else {
      config.loadFromDefault();
    }
  } catch (err) {
    throw new KubernetesError('RG_K8S_CONFIG', `cannot load Kubernetes access: ${(err as Error).message}; set KUBECONFIG, run in-cluster, or pass --kube-server URL`, { cause: err });
  }
  const cluster = config.getCurrentCluster();
  if (!cluster) {
    throw new KubernetesError('RG_K8S_CONFIG', 'no Kubernetes cluster configured: KUBECONFIG / ~/.kube/config has no current context and this is not a pod; set KUBECONFIG or pass --kube-server URL');
  }
  return {
    config,
    apps: config.makeApiClient(AppsV1Api),
    coordination: config.makeApiClient(CoordinationV1Api),
    server: cluster.server,
    timeoutMs: options.timeoutMs ?? 10_000,
  };
}
