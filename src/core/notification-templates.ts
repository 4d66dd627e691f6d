// The checklist's Slack templates (6.2), with {PLACEHOLDER}s filled from a values map. Pure.
import type { TemplateName } from './rules-schema.js';

export const DEFAULT_TEMPLATES: Record<TemplateName, string> = {
  DEPLOY_START: `:rocket: [Voice System] Deployment Starting

Version: v{VERSION}
Started: {TIMESTAMP}
Expected Duration: {DURATION}
Release Manager: {NAME}

Key Changes:
{CHANGELOG}

Tracking: {JIRA_LINK}`,
  DEPLOY_SUCCESS: `:white_check_mark: [Voice System] Deployment Complete

Version: v{VERSION}
Duration: {DURATION}
Status: Successful

Metrics:
- Error rate: {ERROR_RATE}
- P95 Latency: {LATENCY}
- Active sessions: {SESSIONS}

No issues detected. Monitoring continues.`,
  ISSUE_DETECTED: `:warning: [Voice System] Issue Detected

Version: v{VERSION}
Issue: {DESCRIPTION}
Severity: {SEVERITY}
Impact: {IMPACT}

Current Status: Investigating
On-call: {ENGINEER}

Decision {DECISION_ID}: approve or decline with \`rollback-guard approve {DECISION_ID} --by NAME\` / \`rollback-guard decline {DECISION_ID} --by NAME\`
Updates in #voice-incidents`,
  ROLLBACK_START: `:rotating_light: [Voice System] Rollback Initiated

Version: v{VERSION} -> v{PREV_VERSION}
Reason: {REASON}
Started: {TIMESTAMP}
ETA: {ETA}

Status updates every 5 minutes.`,
  ROLLBACK_COMPLETE: `:rewind: [Voice System] Rollback Complete

Rolled back: v{VERSION} -> v{PREV_VERSION}
Duration: {DURATION}
Status: {STATUS}

Impact Summary:
- Duration: {OUTAGE_DURATION}
- Users affected: {AFFECTED_COUNT}

Post-mortem scheduled: {DATE}`,
  ROLLBACK_FAILED: `:fire: [Voice System] Rollback FAILED

Version: v{VERSION}
Reason for the rollback: {REASON}
Error: {ERROR}
Escalated to: {ENGINEER}

The release is still running. Roll back by hand: kubectl rollout undo deployment/{DEPLOYMENT} -n {NAMESPACE}`,
  GUARD_TROUBLE: `:no_entry: [Voice System] rollback-guard needs attention

Release: v{VERSION} of {NAMESPACE}/{DEPLOYMENT}
Problem: {PROBLEM}
Since: {TIMESTAMP}

Until this is fixed the release is not guarded the way the rules say.`,
  POSTMORTEM: `:memo: [Voice System] Post-mortem scheduled

Release: v{VERSION} of {NAMESPACE}/{DEPLOYMENT}, rolled back to v{PREV_VERSION}
Reason: {REASON}
Post-mortem scheduled: {DATE}

Evidence: \`rollback-guard explain {DECISION_ID}\`, \`rollback-guard report --release {RELEASE_ID}\``,
};

/** Checklist 5.2's steps for the parts of a release reverting the Deployment leaves in place. */
export const MANUAL_ROLLBACK_STEPS: Record<'client' | 'database', string> = {
  client: 'client: restore the previous client build from its backup and invalidate the CDN (checklist 5.2, Client Rollback)',
  database: 'database: if this release migrated the schema, restore the backup taken before it; this needs downtime planning (checklist 5.2, Database Rollback)',
};

/** Replaces every {NAME} with its value; a placeholder with no value reads "n/a", never a blank. */
export function renderTemplate(template: string, values: Readonly<Record<string, string | undefined>>): string {
  return template.replace(/\{([A-Z][A-Z0-9_]*)\}/g, (_m, name: string) => values[name] ?? 'n/a');
}
