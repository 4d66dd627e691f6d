// Kubernetes timings against the loopback stand-in: rollback (read, list ReplicaSets, patch), release detection
// latency through the watch, and how many ReplicaSets a rollback can sift. Run: node --import tsx test/bench/kubernetes-bench.ts
import { DeploymentWatcher } from '../../src/adapters/kubernetes/deployment-watcher.js';
import { KubeActuator } from '../../src/adapters/kubernetes/kube-actuator.js';
import { serverClients } from '../../src/adapters/kubernetes/kube-client.js';
import type { ObservedRelease } from '../../src/ports/release-source.js';
import { KubeStandIn } from '../helpers/kube-stand-in.js';

const pct = (xs: number[], p: number) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor((p / 100) * xs.length))]!;
const fmt = (xs: number[]) => `p50 ${pct(xs, 50).toFixed(1)} ms, p95 ${pct(xs, 95).toFixed(1)} ms`;

const kube = await new KubeStandIn().start();
const k = serverClients({ server: kube.url });
const actuator = new KubeActuator(k);

for (const revisions of [3, 10, 100]) {
  const times: number[] = [];
  for (let i = 0; i < 30; i++) {
    const name = `app-${revisions}-${i}`;
    kube.createDeployment('bench', name, 'app:0');
    for (let r = 1; r < revisions; r++) kube.setImage('bench', name, `app:${r}`);
    const t = performance.now();
    const out = await actuator.rollback({ namespace: 'bench', deployment: name, reason: 'bench', by: 'rollback-guard' });
    times.push(performance.now() - t);
    if (out.kind !== 'rolled-back') throw new Error(`unexpected ${out.kind}`);
  }
  console.log(`rollback with ${revisions} revisions (${revisions * 30} ReplicaSets in the namespace by the end): ${fmt(times)}`);
}

kube.createDeployment('bench', 'watched', 'app:0');
const seen: ObservedRelease[] = [];
const watcher = new DeploymentWatcher(k, { targets: [{ namespace: 'bench', deployment: 'watched' }] });
await watcher.start((r) => void seen.push(r));
const detect: number[] = [];
for (let i = 1; i <= 50; i++) {
  const t = performance.now();
  kube.setImage('bench', 'watched', `app:${i}`);
  while (!seen.some((r) => r.revision === String(i + 1))) await new Promise((r) => setImmediate(r));
  detect.push(performance.now() - t);
}
console.log(`release detection (write to onRelease, through the watch): ${fmt(detect)}`);
await watcher.stop();
await kube.stop();
