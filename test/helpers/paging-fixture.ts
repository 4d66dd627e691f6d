// Shared set-up for paging tests: a rules file with notifications, a decision log with one release, the
// stand-ins, and the real adapters pointed at them.
import https from 'node:https';
import path from 'node:path';
import { parseRules } from '../../src/core/parse-rules.js';
import type { NotifiedRelease } from '../../src/core/notification-plan.js';
import type { Ruleset } from '../../src/core/ruleset.js';
import { PagerDutyNotifier } from '../../src/adapters/pagerduty/pagerduty-notifier.js';
import { SlackNotifier } from '../../src/adapters/slack/slack-notifier.js';
import { openDecisionLog, type SqliteDecisionStore } from '../../src/adapters/sqlite/sqlite-decision-store.js';
import { SqliteOutbox } from '../../src/adapters/sqlite/sqlite-outbox.js';
import { afterEach, beforeEach } from 'vitest';
import { PagerDutyStandIn } from './pagerduty-stand-in.js';
import { SlackStandIn } from './slack-stand-in.js';
import { useTempDir } from './temp-dir.js';

export const T0 = Date.parse('2026-11-20T14:00:00Z');
/** 32 characters, like a real integration key; the stand-in rejects other lengths with 400. */
export const ROUTING_KEYS: Record<string, string> = {
  ONCALL: 'R0ONCALL00000000000000000000000A',
  TECHLEAD: 'R0TECHLEAD000000000000000000000B',
  MANAGER: 'R0MANAGER0000000000000000000000C',
  VP: 'R0VP000000000000000000000000000D',
  BROKEN: 'too-short',
};

export const PAGING_RULES = `version: 1
target: { namespace: voice-production, deployment: voice-server }
escalation:
  - { level: 1, after: 0m }
  - { level: 2, after: 15m }
  - { level: 3, after: 30m }
notifications:
  levels:
    - { level: 1, pagerduty: ONCALL, slack: '<!subteam^S0ONCALL>' }
    - { level: 2, pagerduty: TECHLEAD, slack: '<@U0TECHLEAD>' }
    - { level: 3, pagerduty: MANAGER, slack: '<@U0MANAGER>' }
    - { level: 4, pagerduty: VP, slack: '<@U0VP>' }
  outageRules: [error-rate-critical]
  approvers: { U0ALICE: alice }
rules:
  - name: error-rate-critical
    tier: immediate
    query: 'error_rate'
    above: 0.05
  - name: ttfa-regression
    description: P95 time to first audio regressed
    tier: considered
    query: 'ttfa_p95'
    above: 0.6
    for: 5m
`;

export function pagingRuleset(text = PAGING_RULES): Ruleset {
  return parseRules(text, 'paging.yaml');
}

export interface PagingWorld {
  ruleset: Ruleset;
  store: SqliteDecisionStore;
  outbox: SqliteOutbox;
  release: NotifiedRelease;
}

export function pagingWorld(dir: string, ruleset = pagingRuleset()): PagingWorld {
  const store = openDecisionLog(path.join(dir, 'decisions.db'), { now: () => T0 });
  const r = store.startRelease({ namespace: 'voice-production', deployment: 'voice-server', startedAt: T0, severity: 'minor', windowMs: 3_600_000, source: 'test' }, ruleset, {});
  return {
    ruleset,
    store,
    outbox: new SqliteOutbox(store.db),
    release: { id: r.id, namespace: 'voice-production', deployment: 'voice-server', startedAt: T0, severity: 'minor', windowMs: 3_600_000, version: '2.14.0', previousVersion: '2.13.2' },
  };
}

export function notifiers(pd: PagerDutyStandIn, slack: SlackStandIn, settings: Ruleset['notifications']) {
  return {
    pagerduty: new PagerDutyNotifier({ server: `127.0.0.1:${pd.port}`, agent: new https.Agent({ ca: pd.cert }), routingKey: (name) => ROUTING_KEYS[name] ?? '', retry429Ms: 1, timeoutMs: 5000 }),
    slack: new SlackNotifier({ token: slack.token, apiUrl: slack.apiUrl || settings.slackApiUrl, timeoutMs: 5000 }),
  };
}

/**
 * A fresh PagerDuty stand-in, Slack stand-in and paging world (decision log with one release) for each test,
 * stopped and closed after it. Call at a file's top level: its after-hook then runs after the describe's own.
 */
export function usePagingStandIns(): () => { pd: PagerDutyStandIn; slack: SlackStandIn; world: PagingWorld } {
  const tempDir = useTempDir();
  let current: { pd: PagerDutyStandIn; slack: SlackStandIn; world: PagingWorld } | undefined;
  beforeEach(async () => {
    const pd = new PagerDutyStandIn();
    const slack = new SlackStandIn();
    await pd.start();
    try {
      await slack.start();
      current = { pd, slack, world: pagingWorld(tempDir()) };
    } catch (err) {
      // The after-hook only cleans up a complete set: stop what did start.
      await Promise.allSettled([pd.stop(), slack.stop()]);
      throw err;
    }
  });
  afterEach(async () => {
    if (!current) return;
    const { pd, slack, world } = current;
    current = undefined;
    // Each is released even if another's clean-up throws; the first error is still reported.
    const results = await Promise.allSettled([Promise.resolve().then(() => world.store.close()), pd.stop(), slack.stop()]);
    const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failed) throw failed.reason;
  });
  return () => {
    if (!current) throw new Error('usePagingStandIns(): only inside a test or its hooks');
    return current;
  };
}
