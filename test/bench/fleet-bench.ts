// `npm run bench` (fleet): the daemon guarding 1, 100 and 1,000 Deployments, each with an active release, through
// examples/fleet/rules.yaml (the shipped rules written per target) at a 15 s interval, against a Prometheus HTTP
// stand-in and the Kubernetes stand-in (fleet-stand-ins.ts, in their own process), one daemon process per size
// (fleet-daemon.ts). One line per size; figures only, nothing asserted. FLEET_SIZES=1,100 to choose sizes.
import { spawn, type ChildProcess } from 'node:child_process';
import readline from 'node:readline';
import { imageRuntime } from '../helpers/image-runtime.js';

const sizes = (process.env.FLEET_SIZES ?? '1,100,1000').split(',').map(Number);

function run(script: string, args: string[], nodeArgs = ['--import', 'tsx'], env: Record<string, string> = {}): { child: ChildProcess; firstLine: Promise<string> } {
  const child = spawn(process.execPath, [...nodeArgs, script, ...args], { stdio: ['ignore', 'pipe', 'inherit'], env: { ...process.env, ...env } });
  const firstLine = new Promise<string>((resolve, reject) => {
    readline.createInterface({ input: child.stdout }).once('line', resolve);
    child.once('exit', (code) => reject(new Error(`${script} exited (${code}) before it printed its line`)));
  });
  return { child, firstLine };
}

/** The daemon side runs the built code with plain node and the image's Node flags and environment. */
const runtime = imageRuntime();
const runJs = (script: string, args: string[]) => run(script, args, runtime.nodeArgs, runtime.env);
console.log(`daemon side run as the image runs the daemon: node ${runtime.nodeArgs.join(' ')}, ${JSON.stringify(runtime.env)}`);

for (const n of sizes) {
  const world = run('test/bench/fleet-stand-ins.ts', [String(n)]);
  try {
    const { prometheus, kube } = JSON.parse(await world.firstLine) as { prometheus: string; kube: string };
    console.log(await runJs('test/bench/fleet-daemon.js', [String(n), prometheus, kube]).firstLine);
  } finally {
    world.child.kill('SIGKILL');
  }
}
