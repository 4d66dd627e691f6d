// The runtime image's memory settings (the Dockerfile's runtime-stage ENV for NODE_OPTIONS and MALLOC_ARENA_MAX),
// so the bench measures the daemon as the image runs it, from the one place they are set.
import fs from 'node:fs';

const KEYS = ['NODE_OPTIONS', 'MALLOC_ARENA_MAX'];

export function imageRuntimeEnv(dockerfile = 'Dockerfile'): Record<string, string> {
  const text = fs.readFileSync(dockerfile, 'utf8').replace(/\\\n/g, ' ');
  const runtime = text.slice(text.lastIndexOf('\nFROM '));
  const env: Record<string, string> = {};
  for (const line of runtime.split('\n').filter((l) => l.startsWith('ENV '))) {
    for (const m of line.slice(4).matchAll(/([A-Z_]+)=("([^"]*)"|\S+)/g)) if (KEYS.includes(m[1]!)) env[m[1]!] = m[3] ?? m[2]!;
  }
  return env;
}
