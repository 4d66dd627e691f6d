// Composition of the paging pieces for the daemon: the outbox over the decision log, notifiers from the
// environment, the delivery worker, the approval service and its HTTP handlers, and the health figure.
import type Database from 'better-sqlite3';
import type { Agent } from 'node:https';
import { emailNotifierFromEnv } from '../adapters/email/email-notifier.js';
import { approvalHandler, type Handler } from '../adapters/http-api/approval-handler.js';
import { slackInteractionsHandler } from '../adapters/http-api/slack-interactions-handler.js';
import { PagerDutyNotifier } from '../adapters/pagerduty/pagerduty-notifier.js';
import { readSecret } from '../adapters/secrets/read-secret.js';
import { SlackNotifier } from '../adapters/slack/slack-notifier.js';
import { SqliteOutbox } from '../adapters/sqlite/sqlite-outbox.js';
import { planNotifications, type GuardEvent, type Notification, type NotifiedDecision, type NotifiedRelease } from '../core/notification-plan.js';
import type { NotificationSettings, SmtpSettings } from '../core/ruleset.js';
import type { Notifier } from '../ports/notifier.js';
import type { OutboxHealth } from '../ports/outbox.js';
import { ApprovalService, type ActOutcome, type ApprovalServiceOptions } from './approval-service.js';
import { DeliveryWorker, type DeliveryWorkerOptions } from './delivery-worker.js';

export interface PagingOptions {
  /** The decision log's connection (SqliteDecisionStore.db), migrated. */
  db: Database.Database;
  /**
   * The notification settings for a release's target: the `notifications:` of the rules file that guards it, read
   * at each use so a hot reload applies. Undefined (or a target no file guards): the first file's. PagerDuty's
   * server and Slack's API URL are read once, at start, from the first file.
   */
  settingsFor: (target: { namespace: string; deployment: string } | undefined) => NotificationSettings;
  /** The SMTP server, read once at start from the first rules file that emails; undefined: no email. */
  smtp?: SmtpSettings;
  now: () => number;
  /** Carries out an approved rollback. */
  act: (decision: NotifiedDecision) => Promise<ActOutcome>;
  isLeader: () => boolean;
  leader: () => string | undefined;
  /** The leader's API base URL (from the Lease): followers forward approvals there. */
  leaderUrl?: () => string | undefined;
  env?: NodeJS.ProcessEnv;
  /** TLS agent for PagerDuty (a private CA). */
  pagerdutyAgent?: Agent;
  describeRelease?: (releaseId: number) => Partial<Pick<NotifiedRelease, 'version' | 'previousVersion' | 'manager'>>;
  onVerdict?: ApprovalServiceOptions['onVerdict'];
  worker?: Pick<DeliveryWorkerOptions, 'initialBackoffMs' | 'maxBackoffMs' | 'pollMs' | 'batch' | 'onFailure'>;
}

export interface Paging {
  /** Plans and stores the notifications of an event (sent by the worker); returns how many were new. */
  notify(release: NotifiedRelease, event: GuardEvent): number;
  worker: DeliveryWorker;
  approvals: ApprovalService;
  /** Mount these in the daemon's server: each answers its own paths and returns false for others. */
  handlers: Handler[];
  health(): OutboxHealth;
  /**
   * Plans an event and delivers it at once, not through the outbox: for when the outbox itself cannot be written
   * (the decision log's disk is full). Nothing is stored or retried; each notification's result is returned.
   */
  sendNow(release: NotifiedRelease, event: GuardEvent): Promise<{ channel: Notification['channel']; delivered: boolean; error?: string }[]>;
}

export function createPaging(o: PagingOptions): Paging {
  const env = o.env ?? process.env;
  const outbox = new SqliteOutbox(o.db);
  const transport = o.settingsFor(undefined);
  const releaseTarget = o.db.prepare<[number], { namespace: string; deployment: string }>(`SELECT namespace, deployment FROM releases WHERE id = ?`);
  const decisionRelease = o.db.prepare<[number], { release_id: number }>(`SELECT release_id FROM decisions WHERE id = ?`);
  const settingsOf = (releaseId: number | null) => o.settingsFor(releaseId === null ? undefined : releaseTarget.get(releaseId));
  // An unknown decision id: the first file's approvers; the approval service then refuses the id itself.
  const approversOf = (decisionId: number) => {
    const d = decisionRelease.get(decisionId);
    return (d ? settingsOf(d.release_id) : transport).approvers;
  };
  const notifiers: Partial<Record<Notification['channel'], Notifier>> = {
    pagerduty: new PagerDutyNotifier({ server: transport.pagerdutyServer, routingKey: (name) => readSecret(`PAGERDUTY_ROUTING_KEY_${name}`, env), ...(o.pagerdutyAgent ? { agent: o.pagerdutyAgent } : {}) }),
  };
  // Without a Slack token, Slack notifications die with a message saying so (and show in health), never silently.
  if (env.SLACK_BOT_TOKEN || env.SLACK_BOT_TOKEN_FILE) notifiers.slack = new SlackNotifier({ token: readSecret('SLACK_BOT_TOKEN', env), apiUrl: transport.slackApiUrl });
  // Without an SMTP server at start, an email planned after a reload added one dies saying to restart.
  if (o.smtp) notifiers.email = emailNotifierFromEnv(o.smtp, env);
  const worker = new DeliveryWorker({ outbox, notifiers, settings: settingsOf, now: o.now, ...o.worker });
  const approvals = new ApprovalService({ db: o.db, outbox, settings: settingsOf, now: o.now, act: o.act, ...(o.describeRelease ? { describeRelease: o.describeRelease } : {}), ...(o.onVerdict ? { onVerdict: o.onVerdict } : {}) });
  const handlers = [
    approvalHandler({ service: approvals, token: () => readSecret('ROLLBACK_GUARD_API_TOKEN', env), isLeader: o.isLeader, leader: o.leader, ...(o.leaderUrl ? { leaderUrl: o.leaderUrl } : {}) }),
    slackInteractionsHandler({ service: approvals, signingSecret: () => readSecret('SLACK_SIGNING_SECRET', env), approvers: approversOf, isLeader: o.isLeader, leader: o.leader, ...(o.leaderUrl ? { leaderUrl: o.leaderUrl } : {}), now: o.now }),
  ];
  return {
    notify: (release, event) => outbox.enqueue(planNotifications(o.settingsFor(release), release, event), release.id, o.now()),
    worker,
    approvals,
    handlers,
    health: () => outbox.health(),
    sendNow: async (release, event) => {
      const results: { channel: Notification['channel']; delivered: boolean; error?: string }[] = [];
      for (const n of planNotifications(o.settingsFor(release), release, event)) {
        const notifier = notifiers[n.channel];
        const r = notifier ? await notifier.deliver(n, {}) : { kind: 'permanent' as const, error: `${n.channel} is not configured` };
        results.push({ channel: n.channel, delivered: r.kind === 'delivered', ...(r.kind !== 'delivered' ? { error: r.error } : {}) });
      }
      return results;
    },
  };
}
