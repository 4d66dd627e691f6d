// Crash tests (issue: a rollback decided just before a crash must be announced): the real daemon, against real
// Prometheus and the stand-ins, SIGKILLs itself at a named failpoint on the way through an immediate rollback, and
// is restarted on the same decision log. Whatever the point, the stand-ins must see one rollback, announced once
// and in order. See ADR 0013 and README "Nothing lost".
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { SCHEMA_VERSION } from '../../src/adapters/sqlite/sqlite-decision-store.js';
import { auditRollback, ERROR_RATE, NAME, NS, OLD_IMAGE, useCrashWorlds, type CrashWorld } from '../helpers/crash-world.js';
import { waitFor } from '../helpers/free-port.js';

const { live, world: newWorld } = useCrashWorlds();

const RULES = `version: 1
target: { namespace: ${NS}, deployment: ${NAME} }
interval: 1s
rules:
  - name: error-rate-critical
    tier: immediate
    query: '${ERROR_RATE}'
    above: 0.05
    for: 2s
`;

/**
 * A release whose error rate jumps to 20 %: the daemon decides a rollback and is killed at `failpoint`; once the
 * Deployment is back on the old version its errors stop (the recovery check then confirms it). Restarted, it must
 * finish what was committed.
 */
async function crashDuringRollback(failpoint: string, o: { startKilled?: boolean } = {}): Promise<CrashWorld> {
  const w = await newWorld({ rules: RULES, failpoint, ...o });
  const healWhenReverted = () => {
    if (w.image() === OLD_IMAGE) live().exporter.errorRatio = 0;
  };
  if (o.startKilled) {
    await w.killed();
    await w.restart();
  }
  w.kube.setImage(NS, NAME, 'voice-server:1.5.0');
  await w.daemon.waitForLog(/guarding release/);
  live().exporter.errorRatio = 0.2;
  if (!o.startKilled) {
    await waitFor(`the daemon killed at ${failpoint}`, () => (healWhenReverted(), w.daemon.child.signalCode === 'SIGKILL'), 60_000, 50);
    await w.killed();
    await w.restart();
  }
  await waitFor('the rollback', () => (healWhenReverted(), w.image() === OLD_IMAGE), 60_000, 100);
  await waitFor('ROLLBACK_COMPLETE and the recovery verdict in Slack', () => ['Rollback Complete', 'Recovery confirmed'].every((t) => w.slack.messages.some((m) => m.text.includes(t))), 60_000, 200).catch((err: Error) => {
    throw new Error(`${err.message}\n${w.diagnose()}`);
  });
  // A few more ticks and delivery passes: nothing else may be sent or patched.
  await new Promise((r) => setTimeout(r, 3000));
  return w;
}

describe('killed at a failpoint during an immediate rollback, then restarted on the same decision log', () => {
  it.each([
    // the decision (the rollback's intent) is committed, nothing announced: the restart announces it, then patches
    'after-decision-commit:rollback',
    // announced, not patched: the restart patches, and does not announce the start again
    'after-outbox-rows:rollback',
    // patched, not recorded: the restart finds the patch applied, verifies it and judges recovery
    'after-patch',
    // the rollout's verification recorded, ROLLBACK_COMPLETE not planned: planned after the restart
    'after-verification-commit',
    // the recovery verdict recorded, not announced: announced after the restart
    'after-recovery-commit',
    // PagerDuty accepted the trigger, the outbox does not know: sent again, collapsed by its dedup_key
    'after-send:pagerduty',
  ])('%s: one PATCH, ROLLBACK_START and a critical page before ROLLBACK_COMPLETE, each once', async (failpoint) => {
    const w = await crashDuringRollback(failpoint);
    auditRollback(w, { recovered: true });
  }, 180_000);

  it('mid-migration: a migration cut off is rolled back whole and done again at the restart', async () => {
    const w = await crashDuringRollback(`mid-migration:${SCHEMA_VERSION}`, { startKilled: true });
    const db = new Database(w.db, { readonly: true });
    expect(db.pragma('user_version', { simple: true })).toBe(SCHEMA_VERSION);
    db.close();
    auditRollback(w, { recovered: true });
  }, 180_000);

  it('refuses an unknown failpoint name at start (a misspelt point would make a crash test pass without a crash)', async () => {
    await expect(newWorld({ rules: RULES, failpoint: 'after-decison-commit' })).rejects.toThrow(/unknown failpoint "after-decison-commit"/);
  }, 60_000);
});
