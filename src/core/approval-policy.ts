// Who may decide a considered rollback (checklist 5.1: "Considered Rollback (Tech Lead approval)"). The rules
// file's `approvalLevel` is the lowest escalation level allowed; above 1 the approver must be listed with a level.
import { levelName } from './escalation.js';
import type { Approver, NotificationSettings } from './ruleset.js';

/**
 * Why this approver may not approve or decline under these settings; undefined when they may. From Slack the
 * approver is the listed entry of the user who pressed the button; from the API (a shared bearer token) it is the
 * `by` name, matched against the listed names, case-insensitively.
 */
export function approvalRefusal(settings: Pick<NotificationSettings, 'approvers' | 'approvalLevel'>, who: { by: string; approver?: Approver }): string | undefined {
  const need = settings.approvalLevel;
  if (need <= 1) return undefined;
  const level = who.approver ? who.approver.level : levelOfName(settings.approvers, who.by);
  const rule = `considered rollbacks need approval at ${levelName(need)} or higher (notifications.approvalLevel)`;
  if (level === undefined) return `${who.by} is not listed with a level under notifications.approvers; ${rule}`;
  if (level < need) return `${who.by} is listed at ${levelName(level)}; ${rule}`;
  return undefined;
}

function levelOfName(approvers: Readonly<Record<string, Approver>>, by: string): number | undefined {
  const name = by.trim().toLowerCase();
  const levels = Object.values(approvers).filter((a) => a.name.toLowerCase() === name && a.level !== undefined).map((a) => a.level!);
  return levels.length ? Math.max(...levels) : undefined;
}
