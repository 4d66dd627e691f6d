// `notify --test [--level N]`: a clearly marked test message through every channel configured for a level,
// sent directly (not through the outbox), reporting per channel delivered or the exact error.
import type { Command } from 'commander';
import { emailNotifierFromEnv } from '../../adapters/email/email-notifier.js';
import { pagerDutyAgentFromEnv } from '../../adapters/pagerduty/pagerduty-agent.js';
import { PagerDutyNotifier } from '../../adapters/pagerduty/pagerduty-notifier.js';
import { readSecret } from '../../adapters/secrets/read-secret.js';
import { SlackNotifier } from '../../adapters/slack/slack-notifier.js';
import { planNotifications, type Notification } from '../../core/notification-plan.js';
import { UsageError } from '../../errors/usage-error.js';
import type { DeliveryResult } from '../../ports/notifier.js';
import type { Io } from '../io.js';
import { loadRulesFile } from '../load-rules-file.js';

export function registerNotify(program: Command, io: Io): void {
  program
    .command('notify')
    .description('send a clearly marked test message through every channel configured for an escalation level; exit 1 if any channel failed')
    .requiredOption('--rules <file>', 'rules file (its `notifications:`)')
    .option('--test', 'send a test message (the only mode so far; required)')
    .option('--level <n>', 'escalation level whose channels to test', '1')
    .action(async (flags: { rules: string; test?: boolean; level: string }) => {
      if (!flags.test) throw new UsageError('notify only sends test messages so far: add --test');
      const level = Number(flags.level);
      if (!Number.isInteger(level) || level < 1 || level > 4) throw new UsageError(`--level ${flags.level}: use 1, 2, 3 or 4`);
      const rs = loadRulesFile(flags.rules);
      const s = rs.notifications;
      // A fleet (`select:`) has no Deployment until one is selected: the test message says so.
      const t = rs.target ?? { namespace: rs.select?.namespace ?? '(any namespace)', deployment: '(selected by label)' };
      const release = { id: 0, namespace: t.namespace, deployment: t.deployment, startedAt: Date.now(), severity: 'minor', windowMs: 0 };
      const planned = planNotifications(s, release, { kind: 'test', at: Date.now(), level });
      const agent = pagerDutyAgentFromEnv();
      const pagerduty = new PagerDutyNotifier({ server: s.pagerdutyServer, ...(agent ? { agent } : {}) });
      const email = s.email ? emailNotifierFromEnv(s.email.smtp) : undefined;
      let failed = 0;
      for (const n of planned) {
        const result: DeliveryResult =
          n.channel === 'pagerduty' ? await pagerduty.deliver(n) : n.channel === 'slack' ? await sendSlack(n, s.slackApiUrl) : email ? await email.deliver(n) : { kind: 'permanent', error: 'notifications.email is not set' };
        const where = n.channel === 'pagerduty' ? `pagerduty ${n.routingKeyName} (level ${n.level})` : n.channel === 'slack' ? `slack ${n.slackChannel}` : `email ${n.to.join(', ')}`;
        if (result.kind === 'delivered') io.out(`${where}: delivered`);
        else {
          failed++;
          io.out(`${where}: FAILED: ${result.error}`);
        }
      }
      io.exitCode = failed ? 1 : 0;
    });
}

/** The Slack token is read here, so a missing one is reported like any other channel error. */
async function sendSlack(n: Notification, apiUrl: string): Promise<DeliveryResult> {
  let token: string;
  try {
    token = readSecret('SLACK_BOT_TOKEN');
  } catch (err) {
    return { kind: 'permanent', error: (err as Error).message };
  }
  return new SlackNotifier({ token, apiUrl }).deliver(n, {});
}
