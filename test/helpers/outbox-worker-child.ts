// A child process that delivers a decision log's outbox, for the restart test: it is killed mid-retry and a
// new one is started over the same SQLite file. Settings come from the environment (no secrets involved).
//   DB, PD_PORT, PD_CA_FILE, SLACK_URL, SLACK_TOKEN, BACKOFF_MS, CLOCK_OFFSET_MS
import fs from 'node:fs';
import https from 'node:https';
import { PagerDutyNotifier } from '../../src/adapters/pagerduty/pagerduty-notifier.js';
import { SlackNotifier } from '../../src/adapters/slack/slack-notifier.js';
import { openDecisionLog } from '../../src/adapters/sqlite/sqlite-decision-store.js';
import { SqliteOutbox } from '../../src/adapters/sqlite/sqlite-outbox.js';
import { DeliveryWorker } from '../../src/guard/delivery-worker.js';
import { pagingRuleset, ROUTING_KEYS } from './paging-fixture.js';

const env = process.env;
const offset = Number(env.CLOCK_OFFSET_MS ?? 0);
const now = () => Date.now() + offset;
const store = openDecisionLog(env.DB!);
const outbox = new SqliteOutbox(store.db);
const settings = pagingRuleset().notifications;
const worker = new DeliveryWorker({
  outbox,
  settings: () => settings,
  now,
  initialBackoffMs: Number(env.BACKOFF_MS ?? 1000),
  notifiers: {
    pagerduty: new PagerDutyNotifier({ server: `127.0.0.1:${env.PD_PORT}`, agent: new https.Agent({ ca: fs.readFileSync(env.PD_CA_FILE!, 'utf8') }), routingKey: (n) => ROUTING_KEYS[n] ?? '', retry429Ms: 1 }),
    slack: new SlackNotifier({ token: env.SLACK_TOKEN!, apiUrl: env.SLACK_URL! }),
  },
});

for (;;) {
  const summary = await worker.runOnce(now());
  process.stdout.write(JSON.stringify(summary) + '\n');
  if (outbox.health().depth === 0) break;
  await new Promise((r) => setTimeout(r, 100));
}
process.stdout.write(JSON.stringify({ done: outbox.health() }) + '\n');
store.close();
