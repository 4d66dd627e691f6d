// What goes out, to whom, for a decision or a guard event (checklist 6.1-6.3). Pure: time, the release and the
// settings are arguments; the result is a list of notifications the outbox stores before anything is sent.
import type { Decision } from './engine.js';
import { comparisonText, formatValue } from './comparison-text.js';
import { formatDuration } from './duration.js';
import { levelName } from './escalation.js';
import { DEFAULT_TEMPLATES, MANUAL_ROLLBACK_STEPS, renderTemplate } from './notification-templates.js';
import type { TemplateName } from './rules-schema.js';
import type { EmailSettings, NotificationSettings } from './ruleset.js';
import { toRfc3339 } from './time-format.js';

export type PagerDutySeverity = 'critical' | 'error' | 'warning' | 'info';
export const MAJOR_OUTAGE_LEVEL = 4;
/** Slack emoji codes leading a template's first line (":rotating_light: "), which mean nothing in an email subject. */
const EMOJI_CODES = /^(?::[a-z0-9_+'-]+:\s*)+/;

/** A release as notifications describe it. `version`s come from the Deployment when the daemon knows them. */
export interface NotifiedRelease {
  id: number;
  namespace: string;
  deployment: string;
  startedAt: number;
  severity: string;
  windowMs: number;
  version?: string;
  previousVersion?: string;
  manager?: string;
}

/** A decision as the decision log holds it (StoredDecision), reduced to what a message needs. */
export type NotifiedDecision = Decision & { id: number };

export type GuardEvent =
  /** `dryRun`: the daemon runs with --dry-run, so a rollback decision is announced as one that was not made. */
  | { kind: 'decision'; decision: NotifiedDecision; dryRun?: boolean; summary?: Record<string, string> }
  | { kind: 'release-started'; at: number; changelog?: string; tracking?: string }
  /** A rollback a human approved is starting (an immediate rollback's decision already announced itself). */
  | { kind: 'rollback-started'; at: number; decision: NotifiedDecision; by: string; dryRun?: boolean }
  /**
   * `summary`: `notifications.summary` readings for ROLLBACK_COMPLETE's placeholders (AFFECTED_COUNT).
   * `pagedRoutingKeys`: the routing keys (names) PagerDuty was asked to open this decision's incident on; only
   * those are resolved (default: every level's, up to level 4).
   */
  | { kind: 'rollback-complete'; at: number; decision: NotifiedDecision; startedAt: number; summary?: Record<string, string>; pagedRoutingKeys?: readonly string[]; recoveryChecked?: boolean }
  | { kind: 'rollback-failed'; at: number; decision: NotifiedDecision; error: string }
  | { kind: 'rollback-refused'; at: number; decision: NotifiedDecision; reason: string }
  /** After a rollback rolled out, whether the service recovered (checklist 5.3), from `since` to `at`. */
  | { kind: 'recovery'; at: number; since: number; decision: NotifiedDecision; outcome: 'recovered' | 'not-recovered' | 'unknown'; readings: readonly { rule: string; verdict: string; value: number | null; threshold: number | null }[] }
  /** With --dry-run, what became of a rollback that was only planned: said in Slack, never paged or emailed. */
  | { kind: 'dry-run-outcome'; at: number; decision: NotifiedDecision; outcome: string }
  | { kind: 'guard-blind'; at: number; detail: string }
  /**
   * The decision log cannot be written (disk full, read-only): nothing is decided or reverted meanwhile. Sent
   * directly, not through the outbox (which lives in the same file). `writable`: it can be written again.
   */
  | { kind: 'decision-log'; at: number; state: 'unwritable' | 'writable'; detail: string; since: number }
  /** `levelReached`: the highest level paged for this rule so far (escalations after the decision); default its level. */
  | { kind: 'approval'; at: number; decision: NotifiedDecision; verdict: 'approved' | 'declined'; by: string; reason?: string; levelReached?: number }
  | { kind: 'test'; at: number; level: number };

interface Common {
  /** Unique per notification: the outbox ignores a second copy, so planning an event twice sends it once. */
  key: string;
  /** One incident per (release, rule): PagerDuty's dedup_key; the Slack page message is found by it too. */
  dedupKey: string;
  level?: number;
  decisionId?: number;
  /** Set on the message that reports another one's permanent failure; such a message never falls back itself. */
  fallbackFor?: number;
}

export interface PagerDutyNotification extends Common {
  channel: 'pagerduty';
  action: 'trigger' | 'acknowledge' | 'resolve';
  /** Name of the routing key (its value is a secret read from env or a file at delivery). */
  routingKeyName: string;
  summary: string;
  severity: PagerDutySeverity;
  source: string;
  timestamp: string;
  customDetails: Record<string, unknown>;
}

export interface SlackNotification extends Common {
  channel: 'slack';
  /** post a new message, or update the message posted earlier under `messageKey` (needs its stored ts). */
  action: 'post' | 'update';
  slackChannel: string;
  messageKey: string;
  text: string;
  blocks: unknown[];
}

/** A plain-text email to the rules file's `notifications.email.to` (rollbacks only, checklist 6.1). */
export interface EmailNotification extends Common {
  channel: 'email';
  action: 'send';
  from: string;
  to: string[];
  subject: string;
  text: string;
}

export type Notification = PagerDutyNotification | SlackNotification | EmailNotification;

/** PagerDuty severity from tier and level: a rollback and level 3+ are critical, level 2 error, level 1 warning. */
export function pagerDutySeverity(tier: 'immediate' | 'considered' | null, level: number): PagerDutySeverity {
  if (tier === 'immediate' || level >= 3) return 'critical';
  return level === 2 ? 'error' : 'warning';
}

export function dedupKey(release: Pick<NotifiedRelease, 'id' | 'namespace' | 'deployment'>, subject: string): string {
  return `rollback-guard/${release.namespace}/${release.deployment}/release-${release.id}/${subject}`;
}

/** The incident a decision belongs to: one per (release, rule). */
export function decisionDedupKey(release: Pick<NotifiedRelease, 'id' | 'namespace' | 'deployment'>, d: NotifiedDecision): string {
  // A manual page and its escalations have no rule: one incident and one Slack message for them.
  return dedupKey(release, d.rule ?? (d.action === 'page' || d.action === 'escalate' || d.action === 'resolve' ? `manual-page${d.evidence.pagedAt !== undefined ? `-${d.evidence.pagedAt}` : ''}` : d.action));
}

/** True when this immediate rule's rollback is a major outage (checklist 6.3, level 4). */
export function isOutageRule(settings: NotificationSettings, rule: string | null): boolean {
  // An `slo:` rule's window pairs (`availability:1h-5m`) are listed by the rule's own name.
  return rule !== null && (settings.outageRules === undefined || settings.outageRules.includes(rule) || settings.outageRules.includes(rule.split(':')[0]!));
}

/** Values in messages: the readers' one number format, `n/a` for none. */
const fmtNum = (v: number | null) => formatValue(v, 'n/a');

export function planNotifications(settings: NotificationSettings, release: NotifiedRelease, event: GuardEvent): Notification[] {
  // Keys are unique per release, so the outbox can ignore a second copy of the same plan. Emails go last: the
  // worker sends in order, and a slow SMTP server must not hold up a page.
  const planned = planEvent(settings, release, event).map((n) => ({ ...n, key: `release-${release.id}:${n.key}` }));
  return [...planned.filter((n) => n.channel !== 'email'), ...planned.filter((n) => n.channel === 'email')];
}

function planEvent(settings: NotificationSettings, release: NotifiedRelease, event: GuardEvent): Notification[] {
  const p = new Planner(settings, release);
  switch (event.kind) {
    case 'decision':
      return p.decision(event.decision, event.dryRun, event.summary);
    case 'release-started':
      return [p.slack(`release-started`, 'DEPLOY_START', settings.channels.releases, event.at, { CHANGELOG: event.changelog, JIRA_LINK: event.tracking, DURATION: formatDuration(release.windowMs) + ' (guard window)' })];
    case 'rollback-started': {
      const values = { ...p.decisionValues(event.decision), REASON: `${p.describe(event.decision)} (approved by ${event.by})` };
      if (event.dryRun) return [p.dryRun(`rollback-started:${event.decision.id}`, event.at, values, event.decision)];
      return p.announce(`rollback-started:${event.decision.id}`, 'ROLLBACK_START', event.at, values, event.decision);
    }
    case 'dry-run-outcome':
      return [p.slack(`dry-run-outcome:${event.decision.id}`, undefined, settings.channels.incidents, event.at, {}, event.decision, `:test_tube: DRY RUN: decision ${event.decision.id}'s rollback ${event.outcome}. Nothing was patched.`)];
    case 'rollback-complete': {
      const d = event.decision;
      const took = formatDuration(Math.max(0, event.at - event.startedAt));
      // Checklist 6.1: "Post-mortem scheduled" goes to Engineering, with the date ROLLBACK_COMPLETE gives.
      const due = settings.postmortemDueMs > 0 ? toRfc3339(event.at + settings.postmortemDueMs).slice(0, 10) : undefined;
      return [
        ...p.announce(`rollback-complete:${d.id}`, 'ROLLBACK_COMPLETE', event.at, { ...event.summary, ...p.decisionValues(d), DURATION: took, OUTAGE_DURATION: formatDuration(Math.max(0, event.at - (d.evidence.breachingSince ?? d.at))), STATUS: rolledOutStatus(event.recoveryChecked, settings.channels.incidents), DATE: due }, d),
        ...(due ? [p.slack(`postmortem:${d.id}`, 'POSTMORTEM', settings.channels.engineering, event.at, { ...p.decisionValues(d), DATE: due, RELEASE_ID: String(release.id) }, d)] : []),
        ...p.pagerDutyForLevels('rollback-complete', d, 'resolve', p.levelsUpTo(MAJOR_OUTAGE_LEVEL).filter((l) => !event.pagedRoutingKeys || (l.pagerduty !== undefined && event.pagedRoutingKeys.includes(l.pagerduty))), event.at, `Rollback of ${release.deployment} complete`),
      ];
    }
    case 'rollback-failed': {
      const d = event.decision;
      const top = p.levelsUpTo(MAJOR_OUTAGE_LEVEL);
      return [
        ...p.announce(`rollback-failed:${d.id}`, 'ROLLBACK_FAILED', event.at, { ...p.decisionValues(d), ERROR: event.error, ENGINEER: p.mentions(top) }, d, p.levelNames(top)),
        ...p.pagerDutyForLevels('rollback-failed', d, 'trigger', p.levels([1, MAJOR_OUTAGE_LEVEL]), event.at, `Rollback of ${release.namespace}/${release.deployment} FAILED: ${event.error}`, 'critical', MAJOR_OUTAGE_LEVEL),
      ];
    }
    case 'rollback-refused': {
      const d = event.decision;
      return [
        p.slack(`rollback-refused:${d.id}`, 'GUARD_TROUBLE', settings.channels.incidents, event.at, { PROBLEM: `rollback for decision ${d.id} (${p.describe(d)}) was refused: ${event.reason}` }, d),
        ...p.pagerDutyForLevels('rollback-refused', d, 'trigger', p.levels([1]), event.at, `rollback-guard refused a rollback of ${release.deployment}: ${event.reason}`, 'error', 1),
      ];
    }
    case 'recovery':
      return p.recovery(event);
    case 'guard-blind': {
      const key = dedupKey(release, 'guard-blind');
      const level1 = p.levels([1]);
      return [
        { ...p.slack(`guard-blind:${event.at}`, 'GUARD_TROUBLE', settings.channels.incidents, event.at, { PROBLEM: `metrics unreachable: ${event.detail}` }), dedupKey: key },
        ...level1.filter((l) => l.pagerduty).map((l): PagerDutyNotification => ({
          channel: 'pagerduty', action: 'trigger', key: `guard-blind:${event.at}:pd:${l.level}`, dedupKey: key, level: l.level, routingKeyName: l.pagerduty!,
          summary: `rollback-guard is blind on ${release.namespace}/${release.deployment}: ${event.detail}`, severity: 'error', source: p.source(), timestamp: toRfc3339(event.at),
          customDetails: { problem: event.detail, release: p.releaseDetails() },
        })),
      ];
    }
    case 'decision-log': {
      const key = dedupKey(release, 'decision-log');
      const level1 = p.levels([1]).filter((l) => l.pagerduty);
      const unwritable = event.state === 'unwritable';
      const problem = unwritable
        ? `the decision log cannot be written (${event.detail}): nothing is decided or reverted until it can; free space on its volume or make it writable (readiness is failing meanwhile)`
        : `resolved: the decision log is writable again after ${Math.round((event.at - event.since) / 1000)} s; the guard decides again`;
      return [
        { ...p.slack(`decision-log:${event.state}:${event.since}`, 'GUARD_TROUBLE', settings.channels.incidents, event.at, { PROBLEM: problem }), dedupKey: key },
        ...level1.map((l): PagerDutyNotification => ({
          channel: 'pagerduty', action: unwritable ? 'trigger' : 'resolve', key: `decision-log:${event.state}:${event.since}:pd:${l.level}`, dedupKey: key, level: l.level, routingKeyName: l.pagerduty!,
          summary: `rollback-guard cannot write its decision log: ${event.detail}`, severity: 'critical', source: p.source(), timestamp: toRfc3339(event.at),
          customDetails: { problem, release: p.releaseDetails() },
        })),
      ];
    }
    case 'approval': {
      const d = event.decision;
      const who = `${event.verdict === 'approved' ? ':white_check_mark: Rollback approved' : ':no_entry_sign: Rollback declined'} by ${event.by} at ${toRfc3339(event.at)}${event.reason ? `: ${event.reason}` : ''}`;
      const key = p.ruleKey(d);
      const page = p.slackPage(d, event.at, who);
      return [
        { ...page, action: 'update', key: `approval:${d.id}:slack`, dedupKey: key, decisionId: d.id },
        ...p.pagerDutyForLevels('approval', d, 'acknowledge', p.levelsUpTo(event.levelReached ?? d.level ?? 1), event.at, `${event.verdict} by ${event.by}`),
      ];
    }
    case 'test': {
      const levels = p.levels([event.level]);
      const text = `:test_tube: TEST from rollback-guard (notify --test, level ${event.level}) for ${release.namespace}/${release.deployment} at ${toRfc3339(event.at)}. No action needed.`;
      const key = `test:${event.at}`;
      return [
        { channel: 'slack', action: 'post', key: `${key}:slack`, dedupKey: key, level: event.level, slackChannel: settings.channels.incidents, messageKey: key, text: `${text} ${p.mentions(levels)}`.trim(), blocks: [] },
        ...(settings.email ? [p.email(settings.email, key, `[TEST] rollback-guard notify --test: ${release.namespace}/${release.deployment}`, `${text.replace(/^:test_tube: /, '')}\nRollback emails (started, complete, failed) go to: ${settings.email.to.join(', ')}.`, event.level)] : []),
        ...levels.filter((l) => l.pagerduty).map((l): PagerDutyNotification => ({
          channel: 'pagerduty', action: 'trigger', key: `${key}:pd:${l.level}`, dedupKey: `${key}:${l.level}`, level: l.level, routingKeyName: l.pagerduty!,
          summary: `[TEST] rollback-guard notify --test, level ${l.level}: no action needed`, severity: 'info', source: p.source(), timestamp: toRfc3339(event.at), customDetails: { test: true },
        })),
      ];
    }
  }
}

/** Helpers bound to one plan; kept in a class so each function above stays one readable case. */
class Planner {
  constructor(
    private readonly settings: NotificationSettings,
    private readonly release: NotifiedRelease,
  ) {}

  /** `summary`: DEPLOY_SUCCESS's placeholders read at the promote (`notifications.summary`). */
  decision(d: NotifiedDecision, dryRun = false, summary: Record<string, string> = {}): Notification[] {
    if (d.mode === 'shadow') return []; // shadow rules are logged, never sent
    const { settings } = this;
    switch (d.action) {
      case 'page': {
        const level = d.level ?? 1;
        return [
          this.slackPage(d, d.at),
          ...this.pagerDutyForLevels('decision', d, 'trigger', this.levels([level]), d.at, this.pageSummary(d, level), pagerDutySeverity(d.tier, level), level),
        ];
      }
      case 'escalate': {
        const level = d.level ?? 2;
        const lv = this.levels([level]);
        return [
          this.slack(`decision:${d.id}`, undefined, settings.channels.incidents, d.at, {}, d, `:arrow_double_up: Escalated to level ${level} ${this.mentions(lv)}: ${d.rule === null ? this.describe(d) : `${this.describe(d)} still firing`}. Decision ${d.id}.`),
          ...this.pagerDutyForLevels('decision', d, 'trigger', lv, d.at, this.pageSummary(d, level), pagerDutySeverity(d.tier, level), level),
        ];
      }
      case 'resolve': {
        if (d.evidence.gaveUp) {
          // Not a recovery: nobody knows whether it still breaches. The incident is re-triggered (left open for a
          // human, with the reason as its summary), and the guard's trouble is said in the incidents channel.
          const why = `rollback-guard gave up on ${d.rule}: no breach or pass seen for ${formatDuration(d.at - d.evidence.gaveUp.unknownSince)} after the guard window. Check ${this.release.namespace}/${this.release.deployment} by hand`;
          return [
            { ...this.slackPage(d, d.at, `:warning: ${why}. Decision ${d.id}.`), action: 'update', key: `decision:${d.id}:slack`, decisionId: d.id },
            this.slack(`decision:${d.id}:trouble`, 'GUARD_TROUBLE', settings.channels.incidents, d.at, { PROBLEM: `${why} (${d.evidence.note ?? 'data unknown'})` }, d),
            ...this.pagerDutyForLevels('decision', d, 'trigger', this.levels([d.level ?? 1]), d.at, why, 'warning', d.level ?? 1),
          ];
        }
        // A resolve without a value did not come from the data (the rule left the rules file): its note says why.
        const why = d.value === null && d.evidence.note ? d.evidence.note : `${d.rule} is no longer breaching`;
        const text = `:large_green_circle: Resolved at ${toRfc3339(d.at)}: ${why}.`;
        return [
          { ...this.slackPage(d, d.at, text), action: 'update', key: `decision:${d.id}:slack`, decisionId: d.id },
          ...this.pagerDutyForLevels('decision', d, 'resolve', this.levelsUpTo(d.level ?? MAJOR_OUTAGE_LEVEL), d.at, `${d.rule} resolved`),
        ];
      }
      case 'rollback': {
        const outage = isOutageRule(settings, d.rule);
        const levels = this.levels(outage ? [1, MAJOR_OUTAGE_LEVEL] : [1]);
        if (dryRun) return [this.dryRun(`decision:${d.id}`, d.at, this.decisionValues(d), d)];
        return [
          ...this.announce(`decision:${d.id}`, 'ROLLBACK_START', d.at, { ...this.decisionValues(d), ENGINEER: this.mentions(levels) }, d, this.levelNames(levels)),
          ...this.pagerDutyForLevels('decision', d, 'trigger', levels, d.at, `Rolling back ${this.release.namespace}/${this.release.deployment}: ${this.describe(d)}`, 'critical', outage ? MAJOR_OUTAGE_LEVEL : 1),
        ];
      }
      case 'promote':
        return [this.slack(`decision:${d.id}`, 'DEPLOY_SUCCESS', settings.channels.releases, d.at, { ...summary, DURATION: formatDuration(Math.max(0, d.at - this.release.startedAt)) }, d)];
    }
  }

  /** The page message (ISSUE_DETECTED) with Approve / Decline buttons; `status` replaces the buttons once decided. */
  slackPage(d: NotifiedDecision, at: number, status?: string): SlackNotification {
    const level = d.level ?? 1;
    const n = this.slack(`decision:${d.id}`, 'ISSUE_DETECTED', this.settings.channels.incidents, at, { ...this.decisionValues(d), ENGINEER: this.mentions(this.levels([level])) }, d);
    n.messageKey = `${this.ruleKey(d)}:page`;
    const body = status ? `${n.text}\n\n${status}` : n.text;
    n.text = body;
    n.blocks = [{ type: 'section', text: { type: 'mrkdwn', text: body.slice(0, 2900) } }];
    if (!status && d.tier === 'considered') {
      n.blocks.push({
        type: 'actions',
        block_id: `decision-${d.id}`,
        elements: [
          { type: 'button', action_id: 'approve', text: { type: 'plain_text', text: 'Approve rollback' }, style: 'danger', value: String(d.id) },
          { type: 'button', action_id: 'decline', text: { type: 'plain_text', text: 'Decline' }, value: String(d.id) },
        ],
      });
    }
    return n;
  }

  slack(key: string, template: TemplateName | undefined, slackChannel: string, at: number, values: Record<string, string | undefined>, d?: NotifiedDecision, literal?: string): SlackNotification {
    const text = literal ?? this.render(template!, at, values);
    return {
      channel: 'slack', action: 'post', key: `${key}:slack`, dedupKey: d ? this.ruleKey(d) : dedupKey(this.release, key.split(':')[0]!),
      ...(d ? { decisionId: d.id } : {}), ...(d?.level !== undefined ? { level: d.level } : {}),
      slackChannel, messageKey: `${key}:slack`, text, blocks: [{ type: 'section', text: { type: 'mrkdwn', text: text.slice(0, 2900) } }],
    };
  }

  /**
   * A rollback's message to the incidents channel and, when `notifications.email` is set, the same template's
   * text by email (checklist 6.1: "#voice-incidents + Email"). Email has no Slack mentions: `engineer` names the
   * levels paged instead.
   */
  announce(key: string, template: TemplateName, at: number, valuesIn: Record<string, string | undefined>, d: NotifiedDecision, engineer?: string): Notification[] {
    const values = template === 'ROLLBACK_START' ? { ...valuesIn, ...this.alsoRollBack() } : valuesIn;
    const slack = this.slack(key, template, this.settings.channels.incidents, at, values, d);
    const e = this.settings.email;
    if (!e) return [slack];
    const text = this.render(template, at, { ...values, ENGINEER: engineer ?? values.ENGINEER });
    const [first = '', ...rest] = text.split('\n');
    const title = first.replace(EMOJI_CODES, '').trim();
    return [slack, { ...this.email(e, key, `${title}: ${this.source()}`, [title, ...rest, '', this.emailFooter(d)].join('\n'), d.level), dedupKey: this.ruleKey(d), decisionId: d.id }];
  }

  /**
   * Checklist 5.3 after a rollback: recovered is said in the incidents channel; not recovered (the previous version
   * breaches too, or the cause is elsewhere) and unknown (the rules could not be read) also page level 1, and not
   * recovered is emailed to those told the rollback was complete.
   */
  recovery(e: Extract<GuardEvent, { kind: 'recovery' }>): Notification[] {
    const d = e.decision;
    const after = formatDuration(Math.max(0, e.at - e.since));
    const each = e.readings.map((r) => `${r.rule} = ${fmtNum(r.value)} (${r.verdict}, threshold ${fmtNum(r.threshold)})`).join('; ');
    const key = `recovery:${d.id}`;
    if (e.outcome === 'recovered') {
      return [this.slack(key, undefined, this.settings.channels.incidents, e.at, {}, d, `:white_check_mark: [Voice System] Recovery confirmed after the rollback of ${this.source()} (decision ${d.id}), ${after} after it rolled out: ${each}.`)];
    }
    const text =
      e.outcome === 'not-recovered'
        ? `:x: [Voice System] NOT recovered ${after} after the rollback of ${this.source()} (decision ${d.id}): ${each}. The version rolled back to breaches too, or the cause is elsewhere: investigate now.`
        : `:grey_question: [Voice System] Recovery unknown ${after} after the rollback of ${this.source()} (decision ${d.id}): the rules could not be read (${each}). Check the service by hand.`;
    const level1 = this.levels([1]);
    const dk = dedupKey(this.release, 'recovery');
    const pages = level1.filter((l) => l.pagerduty).map((l): PagerDutyNotification => ({
      channel: 'pagerduty', action: 'trigger', key: `${key}:pd:${l.level}`, dedupKey: dk, level: l.level, routingKeyName: l.pagerduty!, decisionId: d.id,
      summary: `${this.source()} ${e.outcome === 'not-recovered' ? 'NOT recovered' : 'recovery unknown'} ${after} after rollback (decision ${d.id})`,
      severity: e.outcome === 'not-recovered' ? 'critical' : 'warning', source: this.source(), timestamp: toRfc3339(e.at), customDetails: { decision_id: d.id, readings: e.readings, release: this.releaseDetails() },
    }));
    const mail = this.settings.email && e.outcome === 'not-recovered' ? [{ ...this.email(this.settings.email, key, `NOT recovered after the rollback: ${this.source()}`, `${text.replace(/^:x: /, '')}\n\n${this.emailFooter(d)}`), dedupKey: dk, decisionId: d.id }] : [];
    return [{ ...this.slack(key, undefined, this.settings.channels.incidents, e.at, {}, d, `${text} ${this.mentions(level1)}`.trim()), dedupKey: dk }, ...pages, ...mail];
  }

  /**
   * A rollback the daemon decided but, running with --dry-run, did not make: the incidents channel sees what it
   * would have done, marked; nobody is paged or emailed about a rollback that did not happen.
   */
  dryRun(key: string, at: number, values: Record<string, string | undefined>, d: NotifiedDecision): SlackNotification {
    const text = `:test_tube: DRY RUN: nothing was rolled back (rollback-guard runs with --dry-run). It would have sent:\n${this.render('ROLLBACK_START', at, { ...values, ENGINEER: 'n/a (dry run)' })}`;
    return this.slack(key, undefined, this.settings.channels.incidents, at, {}, d, text);
  }

  email(e: EmailSettings, key: string, subject: string, text: string, level?: number): EmailNotification {
    return {
      channel: 'email', action: 'send', key: `${key}:email`, dedupKey: dedupKey(this.release, key.split(':')[0]!), ...(level !== undefined ? { level } : {}),
      from: e.from, to: e.to, subject: subject.replace(/\s+/g, ' ').slice(0, 200), text,
    };
  }

  /** Where an email came from and how to read the decision behind it. */
  emailFooter(d: NotifiedDecision): string {
    return `--\nrollback-guard on ${this.source()}, release ${this.release.id}. Decision ${d.id}: rollback-guard explain ${d.id}`;
  }

  render(template: TemplateName, at: number, values: Record<string, string | undefined>): string {
    let text = this.settings.templates[template] ?? DEFAULT_TEMPLATES[template];
    // The steps a Deployment rollback does not take are never dropped by a template that leaves them out.
    if (template === 'ROLLBACK_START' && values.ALSO_ROLL_BACK !== undefined && !text.includes('{ALSO_ROLL_BACK}')) text += '\n\n{ALSO_ROLL_BACK}';
    return renderTemplate(text, { ...this.baseValues(at), ...values });
  }

  /** ROLLBACK_START's reminder of the parts (client, database) the Deployment's rollback leaves in place. */
  alsoRollBack(): { ALSO_ROLL_BACK?: string } {
    const parts = this.settings.alsoRollBack;
    return parts.length ? { ALSO_ROLL_BACK: `Also roll back by hand, if this release changed them:\n${parts.map((p) => `- ${MANUAL_ROLLBACK_STEPS[p]}`).join('\n')}` } : {};
  }

  /** "level 1 (on-call), level 4 (VP)" for email, where Slack mentions mean nothing. */
  levelNames(levels: readonly { level: number }[]): string {
    return levels.map((l) => levelName(l.level)).join(', ') || 'n/a';
  }

  /** `tag` keeps notifications of different events about one decision apart in the outbox (its unique key). */
  pagerDutyForLevels(tag: string, d: NotifiedDecision, action: PagerDutyNotification['action'], levels: readonly { level: number; pagerduty?: string }[], at: number, summary: string, severity: PagerDutySeverity = 'critical', level?: number): PagerDutyNotification[] {
    return levels.filter((l) => l.pagerduty).map((l) => ({
      channel: 'pagerduty', action, key: `${tag}:${d.id}:${action}:pd:${l.level}`, dedupKey: this.ruleKey(d), level: level ?? l.level, decisionId: d.id,
      routingKeyName: l.pagerduty!, summary: summary.slice(0, 1024), severity, source: this.source(), timestamp: toRfc3339(at),
      customDetails: { decision_id: d.id, show: `rollback-guard explain ${d.id}`, approve: d.tier === 'considered' ? `rollback-guard approve ${d.id} --by NAME` : undefined, rule: d.rule, tier: d.tier, level: d.level, value: d.value, threshold: d.threshold, evidence: d.evidence, release: this.releaseDetails() },
    }));
  }

  levels(wanted: readonly number[]) {
    return this.settings.levels.filter((l) => wanted.includes(l.level));
  }

  levelsUpTo(max: number) {
    return this.settings.levels.filter((l) => l.level <= max);
  }

  mentions(levels: readonly { slack?: string }[]): string {
    return levels.map((l) => l.slack).filter(Boolean).join(' ') || 'n/a';
  }

  ruleKey(d: NotifiedDecision): string {
    return decisionDedupKey(this.release, d);
  }

  source(): string {
    return `${this.release.namespace}/${this.release.deployment}`;
  }

  releaseDetails() {
    const r = this.release;
    return { id: r.id, namespace: r.namespace, deployment: r.deployment, started_at: toRfc3339(r.startedAt), severity: r.severity, version: r.version };
  }

  pageSummary(d: NotifiedDecision, level: number): string {
    return `[L${level}] ${this.release.namespace}/${this.release.deployment}: ${this.describe(d)} (decision ${d.id}, approve with rollback-guard approve ${d.id} --by NAME)`;
  }

  /** "ttfa-regression = 0.7747 > 0.6746 (held 5m)". */
  describe(d: NotifiedDecision): string {
    // A manual trigger has no rule or value: its note ("manual trigger by alice: user complaints") is the issue.
    if (d.rule === null && d.evidence.note) return d.evidence.note;
    const held = d.evidence.forMs ? ` (held ${formatDuration(d.evidence.forMs)})` : '';
    return `${d.rule ?? d.action} = ${comparisonText({ ...d, comparison: d.evidence.comparison })}${held}`;
  }

  decisionValues(d: NotifiedDecision): Record<string, string | undefined> {
    const rule = d.rule ?? undefined;
    return {
      RULE: rule, VALUE: fmtNum(d.value), THRESHOLD: fmtNum(d.threshold), DECISION_ID: String(d.id), LEVEL: d.level !== undefined ? String(d.level) : undefined,
      DESCRIPTION: this.describe(d), REASON: this.describe(d), IMPACT: d.tier === 'immediate' ? `${d.rule === null ? 'manual trigger, immediate' : 'immediate-tier rule'}: rolling back without approval` : `${d.rule === null ? 'manual trigger, considered' : 'considered-tier rule'}: waiting for ${this.settings.approvalLevel > 1 ? `${levelName(this.settings.approvalLevel)} or higher` : 'a human'} to approve or decline a rollback`,
      SEVERITY: pagerDutySeverity(d.tier, d.level ?? 1), TIMESTAMP: toRfc3339(d.at), ETA: '~5m (rollout of the previous ReplicaSet)',
    };
  }

  baseValues(at: number): Record<string, string | undefined> {
    const r = this.release;
    return { VERSION: r.version, PREV_VERSION: r.previousVersion, NAME: r.manager, TIMESTAMP: toRfc3339(at), NAMESPACE: r.namespace, DEPLOYMENT: r.deployment, RELEASE_SEVERITY: r.severity };
  }
}

/**
 * ROLLBACK_COMPLETE's {STATUS}: rolled out is not recovered (checklist 5.3). With a recovery check running, its
 * verdict follows in the incidents channel; without one, nobody should read the message as "service restored".
 */
function rolledOutStatus(recoveryChecked: boolean | undefined, incidents: string): string {
  if (recoveryChecked === false) return 'Rolled out; recovery is not checked (`recovery: 0s`, or no immediate rule to judge it): check the service';
  return `Rolled out; recovery being checked (checklist 5.3), the verdict follows in ${incidents}`;
}
