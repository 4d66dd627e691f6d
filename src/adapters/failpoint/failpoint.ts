// Test-only crash points, like etcd's gofail: ROLLBACK_GUARD_FAILPOINT names the points at which the process
// SIGKILLs itself, as the kubelet does on an OOM kill. Inert unless named: a point not named costs one Set lookup.
// The crash tests (test/integration/failpoints.test.ts) kill the real daemon at each point and restart it on the
// same decision log, to prove that what was committed before the kill is neither lost nor done twice.
import fs from 'node:fs';
import { UsageError } from '../../errors/usage-error.js';

/** Every point the code can stop at, in the order a rollback meets them. */
export const FAILPOINTS = {
  'mid-migration': 'inside a decision-log migration transaction, before it commits (tag: the schema version it makes)',
  'after-decision-commit': 'a decision (and, for a rollback, its intent) is committed; nothing is announced or done yet (tag: the action)',
  'after-outbox-rows': "a decision's notifications are in the outbox; a rollback is not yet patched (tag: the action)",
  'after-approval-commit': 'an approval and its notifications are committed; the approved rollback is not yet patched',
  'after-patch': 'the Deployment was patched; the attempt is not yet recorded in the decision log',
  'after-verification-commit': "a rollback's rollout verification is recorded; ROLLBACK_COMPLETE is not yet planned",
  'after-recovery-commit': "the recovery verdict is recorded; it is not yet announced",
  'after-send': 'a notification was accepted by its service; the outbox does not yet say so (tag: the channel)',
} as const;

export type FailpointName = keyof typeof FAILPOINTS;

export const FAILPOINT_ENV = 'ROLLBACK_GUARD_FAILPOINT';

interface Armed {
  name: string;
  tag?: string;
}

let armed: Armed[] | undefined;

/**
 * The points named in the environment: `name` or `name:tag` (only where the point is reached with that tag),
 * comma-separated. An unknown name is refused, so a misspelt point cannot make a crash test pass without a crash.
 */
export function armedFailpoints(env: NodeJS.ProcessEnv = process.env): Armed[] {
  const spec = env[FAILPOINT_ENV]?.trim();
  if (!spec) return [];
  return spec.split(',').map((entry) => {
    const [name = '', tag] = entry.trim().split(':');
    if (!(name in FAILPOINTS)) throw new UsageError(`${FAILPOINT_ENV} names an unknown failpoint "${name}"; known points: ${Object.keys(FAILPOINTS).join(', ')}`);
    return tag ? { name, tag } : { name };
  });
}

/** Kills this process (SIGKILL) when `name` is armed, for any of `tags` if the arming names one. */
export function failpoint(name: FailpointName, ...tags: (string | number)[]): void {
  armed ??= armedFailpoints();
  if (armed.length === 0) return;
  if (!armed.some((a) => a.name === name && (a.tag === undefined || tags.map(String).includes(a.tag)))) return;
  // Synchronous: the line must be out before the signal, which nothing can catch or delay.
  fs.writeSync(2, `rollback-guard: failpoint ${name}${tags.length ? ` (${tags.join(', ')})` : ''} reached: SIGKILL\n`);
  process.kill(process.pid, 'SIGKILL');
}
