// The live stack the end-to-end and crash tests share: a prom-client voice-server exporter scraped every second
// by a real Prometheus, and PagerDuty, Slack and SMTP stand-ins with the rules' `notifications:` that reach them.
import fs from 'node:fs';
import path from 'node:path';
import { PagerDutyStandIn } from './pagerduty-stand-in.js';
import { ROUTING_KEYS } from './paging-fixture.js';
import { disposePrometheus, startPrometheus, waitForSeries, type PrometheusServer } from './prometheus-server.js';
import { SlackStandIn } from './slack-stand-in.js';
import { SmtpStandIn } from './smtp-stand-in.js';
import { startVoiceExporter, type VoiceExporter } from './voice-exporter.js';

export interface LiveMetrics {
  exporter: VoiceExporter;
  prom: PrometheusServer;
  close(): Promise<void>;
}

/**
 * 1,000 requests a second: a 2 % error rate is 20 errors in every second, so a scrape missed under load (fewer
 * samples in a 5 s rate window) cannot make it read 1 % (it did at 100 a second: 2 +- 1). Resolves once a 5 s rate
 * exists: the first samples arrive a few seconds after Prometheus starts.
 */
export async function startLiveMetrics(): Promise<LiveMetrics> {
  const exporter = await startVoiceExporter({ errorRatio: 0, requestsPerSecond: 1000 });
  const prom = await startPrometheus({ scrapeTargets: [exporter.target], scrapeInterval: '1s' });
  await waitForSeries(prom, 'sum(rate(voice_http_requests_total[5s]))');
  return {
    exporter,
    prom,
    async close() {
      await disposePrometheus(prom);
      await exporter.close();
    },
  };
}

/** The escalation levels a test pages, with the routing-key names of paging-fixture's ROUTING_KEYS. */
const LEVELS = [
  { level: 1, pagerduty: 'ONCALL', slack: '<!subteam^S0ONCALL>' },
  { level: 2, pagerduty: 'TECHLEAD', slack: '<@U0TECHLEAD>' },
  { level: 3, pagerduty: 'MANAGER', slack: '<@U0MANAGER>' },
  { level: 4, pagerduty: 'VP', slack: '<@U0VP>' },
];

export interface Pagers {
  pd: PagerDutyStandIn;
  slack: SlackStandIn;
  smtp: SmtpStandIn;
  /** `rules` with a `notifications:` block (before its `rules:`) that reaches these stand-ins. */
  withNotifications(rules: string, extra?: string): string;
  /** The daemon's environment for them: routing keys, Slack token, CA files, SMTP login. */
  env: Record<string, string>;
  stop(): Promise<void>;
}

/** `levels`: how many escalation levels have PagerDuty keys and Slack mentions (default 1). */
export async function startPagers(dir: string, o: { levels?: number } = {}): Promise<Pagers> {
  const pd = new PagerDutyStandIn();
  const slack = new SlackStandIn();
  const smtp = new SmtpStandIn();
  const stop = async () => {
    const stopped = await Promise.allSettled([pd.stop(), slack.stop(), smtp.stop()]);
    const failed = stopped.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failed) throw failed.reason;
  };
  try {
    await pd.start();
    await slack.start();
    await smtp.start();
  } catch (err) {
    await stop().catch(() => {});
    throw err;
  }
  fs.writeFileSync(path.join(dir, 'ca.pem'), pd.cert);
  fs.writeFileSync(path.join(dir, 'smtp-ca.pem'), smtp.cert);
  const levels = LEVELS.slice(0, o.levels ?? 1);
  const block = [
    'notifications:',
    `  pagerduty: { server: '127.0.0.1:${pd.port}' }`,
    `  slack: { apiUrl: '${slack.apiUrl}' }`,
    '  email:',
    '    to: [stakeholders@example.com]',
    "    from: 'rollback-guard <rollback-guard@example.com>'",
    `    smtp: { host: 127.0.0.1, port: ${smtp.port} }`,
  ].join('\n');
  const levelLines = ['  levels:', ...levels.map((l) => `    - { level: ${l.level}, pagerduty: ${l.pagerduty}, slack: '${l.slack}' }`)].join('\n');
  return {
    pd,
    slack,
    smtp,
    withNotifications: (rules, extra = '') => rules.replace('rules:\n', `${block}\n${extra}${levelLines}\nrules:\n`),
    env: {
      PAGERDUTY_CA_FILE: path.join(dir, 'ca.pem'), SLACK_BOT_TOKEN: slack.token,
      SMTP_USERNAME: smtp.user, SMTP_PASSWORD: smtp.pass, SMTP_CA_FILE: path.join(dir, 'smtp-ca.pem'),
      ...Object.fromEntries(levels.map((l) => [`PAGERDUTY_ROUTING_KEY_${l.pagerduty}`, ROUTING_KEYS[l.pagerduty]!])),
    },
    stop,
  };
}
