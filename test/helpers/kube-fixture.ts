import { afterEach } from 'vitest';
import { serverClients, type KubeClients } from '../../src/adapters/kubernetes/kube-client.js';
import { KubeStandIn } from './kube-stand-in.js';

/** A fresh Kubernetes stand-in per test, stopped after it, and clients pointed at it. */
export function useKubeStandIn(): () => Promise<{ kube: KubeStandIn; clients: (timeoutMs?: number) => KubeClients }> {
  const started: KubeStandIn[] = [];
  afterEach(async () => {
    for (const s of started.splice(0)) await s.stop();
  });
  return async () => {
    const kube = await new KubeStandIn().start();
    started.push(kube);
    return { kube, clients: (timeoutMs = 2000) => serverClients({ server: kube.url, timeoutMs }) };
  };
}
