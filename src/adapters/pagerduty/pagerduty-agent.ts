// A private CA for the PagerDuty events endpoint (pdjs only speaks https): a stand-in, or a proxy with its own CA.
import fs from 'node:fs';
import https from 'node:https';
import { UsageError } from '../../errors/usage-error.js';

/** The agent trusting PAGERDUTY_CA_FILE, or undefined when it is not set; an unreadable file is a usage error. */
export function pagerDutyAgentFromEnv(env: NodeJS.ProcessEnv = process.env): https.Agent | undefined {
  const file = env.PAGERDUTY_CA_FILE;
  if (!file) return undefined;
  try {
    return new https.Agent({ ca: fs.readFileSync(file, 'utf8') });
  } catch (err) {
    throw new UsageError(`cannot read PAGERDUTY_CA_FILE (${file}): ${(err as NodeJS.ErrnoException).code ?? 'error'}; point it at a PEM file with the CA of the PagerDuty endpoint, or unset it`, { cause: err });
  }
}
