// The fleet bench's world, in its own process so the daemon side's RSS is the daemon's alone: the Kubernetes API
// stand-in with N Deployments, each released once (revision 2), and a Prometheus HTTP stand-in answering every
// query of examples/fleet/rules.yaml with a healthy value for each Deployment it names (one series per Deployment of a
// grouped query, as Prometheus answers it). Prints {"prometheus": URL, "kube": URL} once ready; runs until killed.
// Run by fleet-bench.ts: node --import tsx test/bench/fleet-stand-ins.ts N
import { KubeStandIn } from '../helpers/kube-stand-in.js';
import { PrometheusStandIn } from '../helpers/prometheus-stand-in.js';

const n = Number(process.argv[2]);
/** Healthy voice-server values, told apart by what the query reads. */
function healthy(query: string): number | null {
  if (query.startsWith('histogram_quantile')) return 0.45;
  if (query.includes('container_memory')) return 310e6;
  if (query.includes('up{')) return 3;
  if (query.includes(' / ')) return 0.002; // an error or failure ratio
  return 40; // a traffic floor
}
const prom = await new PrometheusStandIn(healthy).start();
const kube = await new KubeStandIn().start();
for (let i = 0; i < n; i++) kube.createDeployment('fleet', `app-${i}`, 'app:1');
for (let i = 0; i < n; i++) kube.setImage('fleet', `app-${i}`, 'app:2');
console.log(JSON.stringify({ prometheus: prom.url, kube: kube.url }));
