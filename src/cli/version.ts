import fs from 'node:fs';

/** The version in package.json (two levels up from both src/cli and dist/cli). */
export function version(): string {
  const pkg = JSON.parse(fs.readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };
  return pkg.version;
}
