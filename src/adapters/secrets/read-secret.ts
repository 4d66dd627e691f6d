// Secrets come from the environment or from a file named by `<NAME>_FILE` (re-read on every call, so a rotated
// file is picked up). Errors name the variable, never the value.
import fs from 'node:fs';
import { SecretMissingError } from '../../errors/secret-missing-error.js';

/** The secret named `name`: env `<name>_FILE` (a file's trimmed content) wins over env `<name>`. */
export function readSecret(name: string, env: NodeJS.ProcessEnv = process.env): string {
  const file = env[`${name}_FILE`];
  if (file) {
    let text: string;
    try {
      text = fs.readFileSync(file, 'utf8').trim();
    } catch (err) {
      throw new SecretMissingError(`cannot read ${name}_FILE (${file}): ${(err as NodeJS.ErrnoException).code ?? 'error'}; point it at a readable file holding the secret`, { cause: err });
    }
    if (!text) throw new SecretMissingError(`${name}_FILE (${file}) is empty; put the secret in it`);
    return text;
  }
  const value = env[name];
  if (!value) throw new SecretMissingError(`${name} is not set; set it, or ${name}_FILE to a file holding it`);
  return value;
}

/** PagerDuty routing keys are named in the rules file; the key for name ONCALL is PAGERDUTY_ROUTING_KEY_ONCALL. */
export function routingKeyVariable(name: string): string {
  return `PAGERDUTY_ROUTING_KEY_${name}`;
}
