// What the guard records as Kubernetes Events on the Deployment it judges: a small, documented vocabulary of
// reasons (README: Kubernetes Events), each with its type, and a note carrying the rule, value, threshold and
// decision id. Pure: the sink turns a guard event into these, the recorder sends them.
import { decisionText, formatValue } from '../core/comparison-text.js';
import { formatDuration } from '../core/duration.js';
import { toRfc3339 } from '../core/time-format.js';
import type { StoredDecision } from '../ports/decision-store.js';
import type { GuardEvent } from './guard-events.js';

/** Every reason, its type and when it is recorded: the README's table is generated from this list. */
export const KUBE_EVENT_REASONS = {
  ReleaseGuarded: { type: 'Normal', when: 'a new revision is being judged (its window and severity)' },
  RollbackStarted: { type: 'Warning', when: 'a rollback begins: an immediate rule fired, a manual trigger, or an approved page' },
  RollbackComplete: { type: 'Normal', when: 'the rollback rolled out (its recovery check follows)' },
  RollbackSkipped: { type: 'Normal', when: 'the Deployment was already back on the earlier revision' },
  RollbackDryRun: { type: 'Normal', when: '--dry-run: the rollback that would have been made' },
  RollbackRefused: { type: 'Warning', when: 'the rollback was refused (someone else changed the Deployment, no earlier revision, ...)' },
  RollbackFailed: { type: 'Warning', when: 'the rollback patch or its rollout failed' },
  ServiceRecovered: { type: 'Normal', when: 'after a rollback, the rules that fired passed again (checklist 5.3)' },
  RecoveryFailed: { type: 'Warning', when: 'after a rollback, the service did not recover' },
  RecoveryUnknown: { type: 'Warning', when: 'after a rollback, recovery could not be judged (no data)' },
  ReleasePaged: { type: 'Warning', when: 'a considered rule fired: people are paged and asked to approve' },
  PageEscalated: { type: 'Warning', when: 'a page climbed a level of the escalation ladder' },
  PageResolved: { type: 'Normal', when: 'a paged rule stopped firing' },
  GuardGaveUp: { type: 'Warning', when: "a paged rule's data stayed unknown for giveUpAfter; the page is left to people" },
  RollbackApproved: { type: 'Normal', when: 'someone approved a page (the rollback follows)' },
  RollbackDeclined: { type: 'Normal', when: 'someone declined a page' },
  ReleasePromoted: { type: 'Normal', when: 'the window ended with nothing firing: the release is kept' },
  GuardBlind: { type: 'Warning', when: 'Prometheus could not be read for blind-after: nothing is judged meanwhile' },
  GuardSighted: { type: 'Normal', when: 'Prometheus is readable again after GuardBlind' },
  RulesRejected: { type: 'Warning', when: 'a rules reload was rejected; the previous rules stay in force' },
} as const satisfies Record<string, { type: 'Normal' | 'Warning'; when: string }>;

export type KubeEventReason = keyof typeof KUBE_EVENT_REASONS;

/** One Event, before it knows its Deployment's uid or time. */
export interface KubeEventOf {
  target: string;
  reason: KubeEventReason;
  type: 'Normal' | 'Warning';
  action: string;
  note: string;
}

const make = (target: string, reason: KubeEventReason, action: string, note: string): KubeEventOf => ({ target, reason, type: KUBE_EVENT_REASONS[reason].type, action, note });

/** `decision 42: error-rate: 0.12 > 0.05 (immediate)`. */
function about(d: StoredDecision): string {
  return `decision ${d.id}: ${decisionText(d)}${d.tier ? ` (${d.tier})` : ''}`;
}

/**
 * The Events a guard event is recorded as. `active`: the Deployments being judged now, which a guard-wide event
 * (blind, sighted) concerns.
 */
export function kubeEventsOf(e: GuardEvent, active: readonly string[]): KubeEventOf[] {
  switch (e.kind) {
    case 'release-started':
      return [make(e.target, 'ReleaseGuarded', 'Guard', `release ${e.releaseId}: revision ${e.revision ?? '?'}${e.images?.length ? ` (${e.images.join(', ')})` : ''}, severity ${e.severity}${e.adopted ? ', already rolling out when the guard started' : ''}`)];
    case 'decision': {
      const d = e.decision;
      switch (d.action) {
        case 'page':
          return [make(e.target, 'ReleasePaged', 'Page', `${about(d)}; paged level ${d.level ?? 1}, waiting for approval: rollback-guard approve ${d.id}`)];
        case 'escalate':
          return [make(e.target, 'PageEscalated', 'Escalate', `${about(d)}; escalated to level ${d.level ?? '?'}`)];
        case 'resolve':
          return d.evidence.gaveUp
            ? [make(e.target, 'GuardGaveUp', 'Resolve', `${about(d)}; data unknown since ${toRfc3339(d.evidence.gaveUp.unknownSince)} (giveUpAfter ${formatDuration(d.evidence.gaveUp.afterMs)}): the page is left open for people`)]
            : [make(e.target, 'PageResolved', 'Resolve', `${about(d)}; the rule stopped firing`)];
        case 'promote':
          return [make(e.target, 'ReleasePromoted', 'Promote', `decision ${d.id}: the guard window ended with no rule firing; release kept`)];
        case 'rollback':
          return []; // recorded when it starts (rollback-started), with its outcome after
      }
      return [];
    }
    case 'rollback-started':
      return [make(e.target, 'RollbackStarted', 'Rollback', `${about(e.decision)}; rolling back`)];
    case 'approved-rollback-started':
      return [make(e.target, 'RollbackStarted', 'Rollback', `${about(e.decision)}; approved by ${e.by}; rolling back`)];
    case 'rollback-finished': {
      const o = e.outcome;
      const id = `decision ${e.decision.id}`;
      if (o.kind === 'rolled-back') {
        return e.verification?.kind === 'failed'
          ? [make(e.target, 'RollbackFailed', 'Rollback', `${id}: revision ${o.fromRevision} -> ${o.toRevision} patched, but the rollout did not complete: ${e.verification.detail}`)]
          : [make(e.target, 'RollbackComplete', 'Rollback', `${id}: rolled back from revision ${o.fromRevision} to ${o.toRevision} (${o.images.join(', ')})${e.recoveryChecked ? '; recovery being checked' : ''}`)];
      }
      if (o.kind === 'would-roll-back') return [make(e.target, 'RollbackDryRun', 'Rollback', `${id}: dry run: would roll back from revision ${o.fromRevision} to ${o.toRevision}; nothing changed`)];
      if (o.kind === 'skipped') return [make(e.target, 'RollbackSkipped', 'Rollback', `${id}: ${o.reason}`)];
      if (o.kind === 'refused') return [make(e.target, 'RollbackRefused', 'Rollback', `${id}: refused (${o.code}): ${o.reason}`)];
      return [make(e.target, 'RollbackFailed', 'Rollback', `${id}: ${o.reason}`)];
    }
    case 'recovery-judged': {
      const reason = e.outcome === 'recovered' ? 'ServiceRecovered' : e.outcome === 'not-recovered' ? 'RecoveryFailed' : 'RecoveryUnknown';
      const readings = e.readings.map((r) => `${r.rule} ${r.verdict} (value ${formatValue(r.value, 'no data')}, threshold ${formatValue(r.threshold, 'n/a')})`).join('; ');
      return [make(e.target, reason, 'CheckRecovery', `decision ${e.decision.id}: ${e.outcome} after ${formatDuration(e.at - e.since)}${readings ? `: ${readings}` : ''}`)];
    }
    case 'guard-blind':
      return active.map((t) => make(t, 'GuardBlind', 'Observe', `Prometheus unreadable since ${toRfc3339(e.since)}: ${e.lastError}; nothing is judged or reverted on unknown data`));
    case 'guard-sighted':
      return active.map((t) => make(t, 'GuardSighted', 'Observe', `Prometheus readable again after ${formatDuration(e.blindForMs)}`));
  }
}

/** A verdict someone gave on a page (the approval API or Slack). */
export function verdictEvent(target: string, v: { decisionId: number; verdict: 'approved' | 'declined'; by: string; reason?: string }): KubeEventOf {
  return v.verdict === 'approved'
    ? make(target, 'RollbackApproved', 'Approve', `decision ${v.decisionId}: approved by ${v.by}${v.reason ? ` (${v.reason})` : ''}`)
    : make(target, 'RollbackDeclined', 'Decline', `decision ${v.decisionId}: declined by ${v.by}${v.reason ? ` (${v.reason})` : ''}`);
}

/** A rules reload rejected, on each Deployment being judged (the rules in force stay). */
export function rulesRejectedEvents(active: readonly string[], error: string): KubeEventOf[] {
  return active.map((t) => make(t, 'RulesRejected', 'Reload', `rules reload rejected; the previous rules stay in force: ${error}`));
}
