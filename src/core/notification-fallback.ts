// When a notification is given up on, the other channel says so (issue 5: "a dead PagerDuty page produces a Slack
// message that says so, and the other way round"; a dead email is reported in Slack too). Pure.
import type { Notification } from './notification-plan.js';
import type { NotificationSettings } from './ruleset.js';
import { toRfc3339 } from './time-format.js';

/** The message reporting `dead` (outbox id `deadId`) failed for `reason`; none for a fallback or a Slack update. */
export function planFallback(settings: NotificationSettings, dead: Notification, deadId: number, reason: string, at: number): Notification[] {
  if (dead.fallbackFor !== undefined) return [];
  const common = { key: `${dead.key}:fallback`, dedupKey: dead.dedupKey, fallbackFor: deadId, ...(dead.decisionId !== undefined ? { decisionId: dead.decisionId } : {}), ...(dead.level !== undefined ? { level: dead.level } : {}) };
  if (dead.channel === 'pagerduty') {
    const level = settings.levels.find((l) => l.level === dead.level);
    const text = `:sos: A PagerDuty ${dead.action} could not be delivered (routing key ${dead.routingKeyName}): ${reason}\nIt said: ${dead.summary}\nPage ${level?.slack ?? 'the on-call'} by hand.`;
    return [{ ...common, channel: 'slack', action: 'post', slackChannel: settings.channels.incidents, messageKey: common.key, text, blocks: [{ type: 'section', text: { type: 'mrkdwn', text: text.slice(0, 2900) } }] }];
  }
  if (dead.channel === 'email') {
    const text = `:email: An email to ${dead.to.join(', ')} could not be sent: ${reason}\nSubject: ${dead.subject}\nForward this to them by hand.`;
    return [{ ...common, channel: 'slack', action: 'post', slackChannel: settings.channels.incidents, messageKey: common.key, text, blocks: [{ type: 'section', text: { type: 'mrkdwn', text: text.slice(0, 2900) } }] }];
  }
  if (dead.action === 'update') return []; // the post it edits was reported (or delivered) already
  const level = settings.levels.find((l) => l.level === (dead.level ?? 1) && l.pagerduty) ?? settings.levels.find((l) => l.pagerduty);
  if (!level?.pagerduty) return [];
  const first = dead.text.split('\n').find((l) => l.trim()) ?? '';
  return [{
    ...common, channel: 'pagerduty', action: 'trigger', routingKeyName: level.pagerduty, dedupKey: `${dead.dedupKey}/slack-undeliverable`,
    summary: `Slack message to ${dead.slackChannel} could not be delivered (${reason}): ${first}`.slice(0, 1024), severity: 'error', source: 'rollback-guard', timestamp: toRfc3339(at),
    customDetails: { slack_channel: dead.slackChannel, error: reason, text: dead.text },
  }];
}
