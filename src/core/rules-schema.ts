// The rules file format, as a zod schema. It is the single source of truth for validation, for the JSON Schema
// that `rollback-guard schema` prints, and (later) for the generated rules reference in the README.
import { z } from 'zod';
import { DURATION_PATTERN } from './duration.js';

import type { Severity } from './severity.js';

export { SEVERITIES, type Severity } from './severity.js';

const KEBAB = /^[a-z0-9]+(?:-[a-z0-9]+)*$/;
const IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_]*$/;

const duration = z
  .string()
  .regex(new RegExp(DURATION_PATTERN), { error: 'is not a duration: write it like 0s, 30s, 5m, 1h30m or 24h' })
  .refine((s) => s !== '', { error: 'is empty: write a duration like 0s, 30s, 5m or 1h' });

const query = z
  .string({ error: 'must be a PromQL expression in quotes' })
  .refine((s) => s.trim() !== '', { error: 'is empty: write the PromQL expression to evaluate' })
  .describe('A PromQL expression. Quote it in YAML (single quotes keep backslashes and braces literal). It may name the Deployment it is evaluated for: `{{namespace}}` and `{{deployment}}` inside a string literal, `{{selector}}` as label matchers (see *Per-target queries*).');

const baselineThreshold = z
  .strictObject({
    baseline: z.string().describe('Name of an entry under `baselines:`.'),
    factor: z.number().positive({ error: 'must be greater than 0 (a multiplier of the baseline, e.g. 1.5 for +50 %)' }).default(1).describe('Multiplier applied to the baseline value.'),
  })
  .describe('A threshold relative to a baseline: baseline value x factor.');

const stableThreshold = z
  .strictObject({
    stable: z.literal(true, { error: 'must be true' }).describe("`true`: relative to the stable Deployment's value of the same query at the same instant (the target's `compareTo`)."),
    factor: z.number().positive({ error: 'must be greater than 0 (a multiplier of the stable value, e.g. 2)' }).default(1).describe('Multiplier applied to the stable value.'),
    plus: z.number().default(0).describe('Added after the factor, so a stable value near 0 still leaves room (e.g. 0.01 for one percentage point).'),
  })
  .describe("A threshold relative to the stable Deployment, for a canary: stable value x factor + plus.");

const threshold = z
  .union([z.number(), baselineThreshold, stableThreshold], {
    error: 'must be a number, { baseline: <name>, factor: <number> }, or { stable: true, factor: <number>, plus: <number> }',
  })
  .describe('Threshold: a number, a baseline reference, or relative to the stable Deployment.');

const guard = z
  .strictObject({
    query,
    above: z.number().optional().describe('The rule counts only while this query is strictly above this bound.'),
    below: z.number().optional().describe('The rule counts only while this query is strictly below this bound.'),
  })
  .describe('Traffic floor: the rule only counts while this single-series query passes its bound.');

const rollbackSettings = z
  .strictObject({
    strategy: z
      .enum(['undo', 'previous-version-annotation'])
      .default('undo')
      .describe('undo: like `kubectl rollout undo` (the previous revision\'s pod template). previous-version-annotation: set the container image back to the version in the Deployment\'s `previous-version` annotation.'),
    container: z.string().min(1).optional().describe('previous-version-annotation only: the container whose image is set back (default: the only container, or the one named like the Deployment).'),
  })
  .describe('How this Deployment is rolled back.');

const targetSchema = z
  .strictObject({
    namespace: z.string().min(1).describe('Namespace of the guarded Deployment.'),
    deployment: z.string().min(1).describe('Name of the guarded Deployment.'),
    rollback: rollbackSettings.default({ strategy: 'undo' }),
    compareTo: z
      .string()
      .min(1)
      .optional()
      .describe("The stable Deployment this one is a canary of (same namespace, one of this file's targets): rules with a `stable` threshold judge this target against that Deployment's value of the same query at the same instant. Default none: those rules do not apply to it."),
  })
  .describe('A guarded Deployment.');

const selectSchema = z
  .strictObject({
    namespace: z
      .string()
      .min(1)
      .optional()
      .describe('Only Deployments in this namespace (the chart then needs a Role there). Default: every namespace the guard may read (the chart then renders a ClusterRole).'),
    matchLabels: z
      .record(z.string().min(1), z.string())
      .refine((m) => Object.keys(m).length > 0, { error: 'must name at least one label: an empty selector would guard every Deployment' })
      .describe('Every Deployment whose labels include all of these is guarded, as it appears and until it disappears (or loses a label), each with its own releases, hold clocks and pages.'),
    rollback: rollbackSettings.default({ strategy: 'undo' }),
  })
  .describe('A fleet: the Deployments these rules guard, chosen by label at run time instead of listed.');

/** The workbook's pairs for a 30-day SLO (table 5-8 and iteration 6): 2 %, 5 %, 10 % and 10 % of the budget. */
export const WORKBOOK_WINDOWS = [
  { burnRate: 14.4, long: '1h', short: '5m' },
  { burnRate: 6, long: '6h', short: '30m' },
  { burnRate: 3, long: '1d', short: '2h' },
  { burnRate: 1, long: '3d', short: '6h' },
] as const;

const sloSchema = z
  .strictObject({
    objective: z
      .number()
      .gt(0, { error: 'must be a percentage above 0 and below 100, like 99.9' })
      .lt(100, { error: 'must be a percentage below 100 (100 % leaves no error budget to burn), like 99.9' })
      .describe('The SLO: the percentage of requests that must be good, like 99.9. Its error budget is 100 - objective percent.'),
    period: duration.default('30d').describe("The SLO's period, which the burn rates are relative to (the workbook's are for 30 days). Recorded with each decision; the windows are not scaled from it."),
    errors: query.optional().describe('PromQL giving the rate of bad requests over `{{window}}`, e.g. `sum by (namespace, deployment) (rate(requests_total{code=~"5..", deployment="{{deployment}}"}[{{window}}]))`. Give `errors` or `good`.'),
    good: query.optional().describe('PromQL giving the rate of good requests over `{{window}}`, instead of `errors`.'),
    total: query.describe('PromQL giving the rate of all requests over `{{window}}`.'),
    windows: z
      .array(
        z.strictObject({
          burnRate: z.number().positive({ error: 'must be greater than 0 (how many times faster than sustainable the budget burns, e.g. 14.4)' }).describe('Breach while both windows burn the budget faster than this many times the rate that would spend it exactly over `period`.'),
          long: duration.describe('The long window: how much history must show the burn.'),
          short: duration.describe('The short window: whether it is still burning now (the workbook: 1/12 of the long one).'),
          tier: z.enum(['immediate', 'considered']).optional().describe("This pair's tier. Default: the rule's `tier` for the first pair, `considered` (a page) for the others."),
        }),
      )
      .min(1, { error: 'must list at least one window pair' })
      .default([...WORKBOOK_WINDOWS])
      .describe("The window pairs, fastest burn first. Default: the SRE workbook's for a 30-day SLO: 14.4 over 1h and 5m, 6 over 6h and 30m, 3 over 1d and 2h, 1 over 3d and 6h."),
  })
  .describe('A multi-window, multi-burn-rate SLO rule (instead of `query:` and a threshold): see *SLO burn-rate rules*.');

const judgeMetric = z.strictObject({
  name: z.string().regex(KEBAB, { error: 'must be kebab-case, like error-rate' }).describe('Unique kebab-case name within the judge; it appears in the evidence.'),
  query: query.describe("PromQL for the canary's value of the metric, naming it with `{{namespace}}`/`{{deployment}}` (or `{{selector}}`): bound again for the stable Deployment. Every series' value at every step of the window is a sample."),
  direction: z.enum(['increase', 'decrease', 'either']).default('increase').describe("Which change fails: `increase` (errors, latency), `decrease` (throughput, success rate) or `either`. Kayenta's default is either; here it is increase, because a canary that errs less than stable is no reason to revert."),
  critical: z.boolean().default(false).describe('A high (or low) verdict on this metric fails the whole judgement, whatever the score.'),
  mustHaveData: z.boolean().default(false).describe('No samples on a side counts as a failure of this metric instead of leaving it out of the score.'),
  allowedIncrease: z.number().positive().default(1).describe("A high verdict needs the canary's mean to be at least this times stable's (Kayenta's effectSize.allowedIncrease): 1.1 ignores a certain but smaller than 10 % rise."),
  allowedDecrease: z.number().positive().default(1).describe("A low verdict needs the canary's mean to be at most this times stable's."),
  criticalIncrease: z.number().positive().default(1).describe('A critical metric fails the judgement only when its mean ratio is at least this.'),
  criticalDecrease: z.number().positive().default(1).describe('A critical metric fails the judgement only when its mean ratio is at most this.'),
  nanStrategy: z.enum(['remove', 'replace']).default('remove').describe('NaN samples (0/0: no requests at that step): `remove` them, or `replace` them with 0.'),
});

const judgeSchema = z
  .strictObject({
    window: duration.default('10m').describe('How far back the samples of each side reach from the instant judged.'),
    step: duration.default('1m').describe('Time between samples: a multiple of `interval`, so they fall on the instants replay reads.'),
    tolerance: z.number().min(0).default(0.25).describe("Kayenta's: a metric is high (low) only when its shift's confidence interval lies above (below) this fraction of the estimated shift."),
    confidence: z.number().gt(0).lt(1).default(0.98).describe("Confidence level of the shift's interval (Kayenta's judge: 0.98)."),
    pass: z.number().min(0).max(100).default(95).describe('Score (the percentage of judged metrics that pass) at or above which the canary passes.'),
    marginal: z.number().min(0).max(100).default(75).describe('Score at or above which (and below `pass`) the judgement is marginal, which holds the rule; below it the canary fails, which is a breach.'),
    metrics: z.array(judgeMetric).min(1, { error: 'must list at least one metric' }).describe('The metrics compared, canary against stable.'),
  })
  .describe("A canary judge (instead of `query:` and a threshold): a canary's samples against its stable Deployment's by a Mann-Whitney U test per metric, scored like Kayenta; see *Canary judge rules*.");

export const ruleSchema = z
  .strictObject({
    name: z
      .string()
      .regex(KEBAB, { error: 'must be kebab-case, like error-rate-critical' })
      .describe('Unique kebab-case name; it appears in decisions, pages and the decision log.'),
    description: z.string().optional().describe('One line for humans; used in pages and the timeline.'),
    tier: z.enum(['immediate', 'considered']).describe('immediate: revert with no approval. considered: page and wait for a human.'),
    query: query.optional().describe('PromQL giving the value compared with the threshold. Give one of `query:` (with `above:` or `below:`), `slo:` or `judge:`.'),
    slo: sloSchema.optional(),
    judge: judgeSchema.optional(),
    above: threshold.optional().describe('Breach when the value is strictly greater than this.'),
    below: threshold.optional().describe('Breach when the value is strictly less than this.'),
    for: duration.default('0s').describe('Hold duration: the rule fires once it has breached at every evaluation for this long.'),
    noData: z
      .enum(['ignore', 'breach'])
      .default('ignore')
      .describe('What an empty result or NaN means: ignore (no data, the rule holds its state) or breach.'),
    when: guard.optional(),
    mode: z
      .enum(['enforce', 'page-only', 'shadow'])
      .default('enforce')
      .describe('enforce: act as the tier says. page-only: an immediate rule pages instead of reverting. shadow: log only.'),
  })
  .describe('One rollback trigger.');

const escalationStep = z.strictObject({
  level: z.number().int().min(1).describe('Escalation level (1 = on-call).'),
  after: duration.describe('Time after the page at which this level is paged.'),
});

export const DEFAULT_WINDOWS: Record<Severity, string> = { hotfix: '15m', minor: '1h', major: '4h', infrastructure: '24h' };
export const DEFAULT_ESCALATION = [
  { level: 1, after: '0m' },
  { level: 2, after: '15m' },
  { level: 3, after: '30m' },
];

export const TEMPLATE_NAMES = ['DEPLOY_START', 'DEPLOY_SUCCESS', 'ISSUE_DETECTED', 'ROLLBACK_START', 'ROLLBACK_COMPLETE', 'ROLLBACK_FAILED', 'GUARD_TROUBLE', 'POSTMORTEM'] as const;
export type TemplateName = (typeof TEMPLATE_NAMES)[number];

const ROUTING_KEY_NAME = /^[A-Z][A-Z0-9_]*$/;
/** `addr@host` or `Display Name <addr@host>`: what an email's From header takes. */
const MAILBOX = /^(?:[^<>@]*<[^\s<>@]+@[^\s<>@]+>|[^\s<>@]+@[^\s<>@]+)$/;
/** `addr@host`: what SMTP's RCPT TO takes. As loose as MAILBOX's address part: the server judges the rest. */
const ADDRESS = /^[^\s<>@,;]+@[^\s<>@,;]+$/;
export const SMTP_TLS = ['starttls', 'implicit', 'none'] as const;
export const SUMMARY_FORMATS = ['percent', 'seconds', 'number'] as const;
export type SummaryFormat = (typeof SUMMARY_FORMATS)[number];
export type SmtpTls = (typeof SMTP_TLS)[number];

const notificationLevel = z
  .strictObject({
    level: z.number().int().min(1).max(4).describe('Escalation level: 1 on-call, 2 tech lead, 3 engineering manager, 4 VP (major outage).'),
    pagerduty: z
      .string()
      .regex(ROUTING_KEY_NAME, { error: 'must be an upper-case name like ONCALL: the key itself comes from PAGERDUTY_ROUTING_KEY_<NAME> or PAGERDUTY_ROUTING_KEY_<NAME>_FILE' })
      .optional()
      .describe('Name of the PagerDuty routing key for this level; the key is read from env PAGERDUTY_ROUTING_KEY_<NAME> (or the file named by PAGERDUTY_ROUTING_KEY_<NAME>_FILE), never from this file.'),
    slack: z.string().optional().describe('Slack mention added to the message at this level, e.g. `<!subteam^S012AB3CD>` or `<@U024BE7LH>`.'),
  })
  .describe('Who is reached at one escalation level.');

export const DEFAULT_CHANNELS = { releases: '#voice-releases', incidents: '#voice-incidents', engineering: '#voice-engineering' };
export const ALSO_ROLL_BACK = ['client', 'database'] as const;

const notifications = z
  .strictObject({
    channels: z
      .strictObject({
        releases: z.string().min(1).default(DEFAULT_CHANNELS.releases).describe('Slack channel for release started / complete.'),
        incidents: z.string().min(1).default(DEFAULT_CHANNELS.incidents).describe('Slack channel for issues, pages, rollbacks and the guard\'s own trouble.'),
        engineering: z.string().min(1).default(DEFAULT_CHANNELS.engineering).describe('Slack channel for the POSTMORTEM message after a rollback completes (checklist 6.1: "Post-mortem scheduled", Engineering).'),
      })
      .default(DEFAULT_CHANNELS)
      .describe('Slack channels (checklist 6.1).'),
    levels: z.array(notificationLevel).default([]).describe('PagerDuty routing-key name and Slack mention per escalation level. Default none: Slack channel messages only.'),
    outageRules: z
      .array(z.string())
      .optional()
      .describe('Immediate-tier rules whose rollback is a major outage (pages level 4). Default: every immediate-tier rule.'),
    templates: z
      .partialRecord(z.enum(TEMPLATE_NAMES), z.string().min(1))
      .default({})
      .describe('Slack message templates overriding the checklist\'s (6.2); placeholders like {VERSION}, {REASON}, {VALUE}.'),
    postmortemDue: duration
      .default('2d')
      .describe("When the post-mortem of a completed rollback is due, after it: the date in ROLLBACK_COMPLETE's and POSTMORTEM's `{DATE}` (checklist 6.2, \"Post-mortem scheduled\"). `0s`: no POSTMORTEM message, and `{DATE}` reads n/a."),
    alsoRollBack: z
      .array(z.enum(ALSO_ROLL_BACK))
      .default([])
      .describe("Parts this service's releases include that reverting the Deployment does not revert (checklist 5.2): `client` (a client build on the CDN), `database` (schema migrations). Each is named in ROLLBACK_START as a step to take by hand (`{ALSO_ROLL_BACK}`, appended when a custom template leaves it out). Default none."),
    approvers: z
      .record(
        z.string(),
        z.union([
          z.string().trim().min(1, { error: 'an approver name must not be empty' }),
          z.strictObject({
            name: z.string().trim().min(1, { error: 'an approver name must not be empty' }).describe('Name recorded with the verdict, and the `--by` name that identifies them to the approval API.'),
            level: z.number().int().min(1).max(4).describe('Their escalation level (1 on-call, 2 tech lead, 3 engineering manager, 4 VP), checked against `approvalLevel`.'),
          }),
        ], { error: 'must be a name, or { name: <name>, level: <1-4> }' }),
      )
      .default({})
      .describe('Slack user id -> approver: a name (`U024BE7LH: alice`), or a name and escalation level (`U024BE7LH: { name: alice, level: 2 }`). Unlisted users are refused.'),
    approvalLevel: z
      .number()
      .int()
      .min(1)
      .max(4)
      .default(1)
      .describe('Lowest escalation level allowed to approve or decline a considered rollback (checklist 5.1: Tech Lead approval is `2`). Above 1, Slack users and API `--by` names must be listed under `approvers` at that level or higher. Default 1: any listed Slack user, and any holder of the API token.'),
    summary: z
      .record(
        z.string().regex(/^[A-Z][A-Z0-9_]*$/, { error: 'a template placeholder name in capitals, e.g. ERROR_RATE' }),
        z.strictObject({
          query: z.string().trim().min(1, { error: '`query` is empty' }).describe('PromQL giving one number.'),
          format: z.enum(SUMMARY_FORMATS).default('number').describe('`percent` (a ratio: 0.004 -> 0.4 %), `seconds` (0.45 -> 450 ms) or `number`.'),
        }),
      )
      .default({})
      .describe("Placeholders filled by a query, each read when a message whose template uses it is sent: DEPLOY_SUCCESS's metrics when a release is promoted (6.2: ERROR_RATE, LATENCY, SESSIONS), ROLLBACK_COMPLETE's AFFECTED_COUNT when a rollback completes. Default none: they read n/a."),
    pagerduty: z
      .strictObject({ server: z.string().default('events.pagerduty.com').describe('Events API v2 host (EU: events.eu.pagerduty.com).') })
      .default({ server: 'events.pagerduty.com' })
      .describe('PagerDuty endpoint.'),
    slack: z
      .strictObject({ apiUrl: z.string().url().refine((u) => /^https?:\/\//i.test(u), { error: 'must be an http:// or https:// URL' }).default('https://slack.com/api/').describe('Slack Web API base URL (GovSlack: https://slack-gov.com/api/, or a proxy).') })
      .default({ apiUrl: 'https://slack.com/api/' })
      .describe('Slack endpoint.'),
    email: z
      .strictObject({
        to: z.array(z.string().regex(ADDRESS, { error: 'must be an email address like voice-stakeholders@example.com' })).default([]).describe('Who is emailed when a rollback starts, completes or fails (checklist 6.1: all stakeholders). Default none: no email.'),
        from: z
          .string()
          .regex(MAILBOX, { error: 'must be an address, optionally with a name: `rollback-guard@example.com` or `rollback-guard <rollback-guard@example.com>`' })
          .optional()
          .describe('Sender of those emails. Required with `to`.'),
        smtp: z
          .strictObject({
            host: z.string().min(1).describe('SMTP server (relay or submission) host name.'),
            port: z.number().int().min(1).max(65535).optional().describe('Default: 587 with `tls: starttls`, 465 with `implicit`, 25 with `none`.'),
            tls: z
              .enum(SMTP_TLS)
              .default('starttls')
              .describe('`starttls`: upgrade with STARTTLS and refuse a server that does not offer it; `implicit`: TLS from the first byte (port 465); `none`: plain text, for a relay inside the cluster only.'),
          })
          .optional()
          .describe('The SMTP server; required with `to`. Credentials come from env SMTP_USERNAME and SMTP_PASSWORD (or their _FILE), never from this file; no SMTP_USERNAME: no AUTH.'),
      })
      .default({ to: [] })
      .describe('Email for rollbacks (checklist 6.1: rollback initiated / complete go to all stakeholders by email too).'),
  })
  .describe('Who hears about releases, pages and rollbacks (checklist Phase 6).');

export const rulesFileSchema = z
  .strictObject({
    version: z.literal(1, { error: 'must be 1 (the only version of the rules format so far)' }).describe('Format version; always 1.'),
    target: targetSchema.optional().describe('The Deployment these rules guard. Give one of `target:`, `targets:` or `select:`.'),
    targets: z
      .array(targetSchema)
      .min(1, { error: 'must list at least one Deployment' })
      .optional()
      .describe('Several Deployments guarded by the same rules (e.g. voice-server and voice-server-canary), instead of `target:`.'),
    select: selectSchema.optional().describe('A fleet chosen by label, instead of `target:` or `targets:`: see *Fleets*.'),
    interval: duration.default('15s').describe('How often the daemon evaluates the rules: at every multiple of it on the clock, from the first at or after the release start (replay judges the same instants).'),
    evaluationOffset: duration
      .default('0s')
      .describe('Evaluate each instant on the data as of that instant minus this, like Prometheus\'s `query_offset`: set it to the ingestion delay of your metrics (e.g. `30s` for a remote-write pipeline or VictoriaMetrics\' `-search.latencyOffset`), so the daemon never judges data a later replay would see differently.'),
    recovery: duration
      .default('10m')
      .describe("After the guard's rollback has rolled out, how long it keeps judging the immediate rules to confirm the service recovered (checklist 5.3); `0s`: no check."),
    giveUpAfter: duration
      .default('30m')
      .describe("After the guard window, how long a firing rule's page may see no breach and no pass (its data empty, NaN or unreadable) before the guard gives up on it: the page is announced as given up (Slack, and its PagerDuty incident re-triggered, left open for a human), and the release can end. Without a bound, a page whose data vanished would keep the release open for good. `0s`: never give up."),
    windows: z
      .strictObject({
        hotfix: duration.default(DEFAULT_WINDOWS.hotfix).describe('Window of a hotfix release.'),
        minor: duration.default(DEFAULT_WINDOWS.minor).describe('Window of a minor release (the default severity).'),
        major: duration.default(DEFAULT_WINDOWS.major).describe('Window of a major release.'),
        infrastructure: duration.default(DEFAULT_WINDOWS.infrastructure).describe('Window of an infrastructure release.'),
      })
      .default(DEFAULT_WINDOWS)
      .describe('Guard window per release severity, from the release start.'),
    baselines: z
      .record(
        z.string().regex(IDENTIFIER, { error: 'baseline names must be identifiers, like ttfa_p95' }),
        z.strictObject({ query }).describe('One baseline.'),
      )
      .default({})
      .describe('Named single-series queries evaluated once, at the release start.'),
    escalation: z
      .array(escalationStep)
      .min(1)
      .default(DEFAULT_ESCALATION)
      .describe('Escalation ladder for pages. The default is the checklist ladder (6.3): level 1 at 0m, 2 at 15m, 3 at 30m.'),
    notifications: notifications.prefault({}),
    rules: z.array(ruleSchema).min(1, { error: 'must list at least one rule' }).describe('The rollback triggers, evaluated in this order.'),
  });

export type RulesFileInput = z.input<typeof rulesFileSchema>;
export type RulesFile = z.output<typeof rulesFileSchema>;
