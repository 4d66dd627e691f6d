// How the runtime image starts node: the runtime stage's MALLOC_ARENA_MAX and the node flags of its ENTRYPOINT, so
// the bench and the image check run the daemon as the image does, from the one place they are set.
import fs from 'node:fs';

export interface ImageRuntime {
  env: Record<string, string>;
  /** node's own flags, between `node` and the script. */
  nodeArgs: string[];
}

export function imageRuntime(dockerfile = 'Dockerfile'): ImageRuntime {
  const text = fs.readFileSync(dockerfile, 'utf8').replace(/\\\n/g, ' ');
  const runtime = text.slice(text.lastIndexOf('\nFROM '));
  const env: Record<string, string> = {};
  for (const line of runtime.split('\n').filter((l) => l.startsWith('ENV '))) {
    for (const m of line.slice(4).matchAll(/([A-Z_]+)=("([^"]*)"|\S+)/g)) if (m[1] === 'MALLOC_ARENA_MAX') env[m[1]] = m[3] ?? m[2]!;
  }
  const entry = /^ENTRYPOINT (\[.*\])$/m.exec(runtime);
  if (!entry) throw new Error(`${dockerfile}: no ENTRYPOINT [...] in the runtime stage`);
  const argv = JSON.parse(entry[1]!) as string[];
  return { env, nodeArgs: argv.slice(1, argv.findIndex((a) => a.endsWith('.js'))) };
}
