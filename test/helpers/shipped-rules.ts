// The shipped rules (rules/voice-server.yaml, which guard voice-server and its canary) for other Deployments:
// tests that need "the shipped rules, for this one Deployment" (a second file, another service) take them from here.
import fs from 'node:fs';

export const SHIPPED_RULES = 'rules/voice-server.yaml';

/** The shipped rules' text guarding `deployments` in voice-production (default: voice-server alone). */
export function shippedRules(...deployments: string[]): string {
  const list = deployments.length ? deployments : ['voice-server'];
  const targets = list.length === 1 ? `target: { namespace: voice-production, deployment: ${list[0]} }\n` : `targets:\n${list.map((d) => `  - { namespace: voice-production, deployment: ${d} }`).join('\n')}\n`;
  const text = fs.readFileSync(SHIPPED_RULES, 'utf8');
  const block = /^targets:\n(?:(?: {2}- .*| {2}#.*)\n)+/m;
  if (!block.test(text)) throw new Error(`${SHIPPED_RULES}: no targets: block to replace`);
  return text.replace(block, targets);
}
