// Turns the daemon's events into the notification plan's events (checklist 6.1), stored in the outbox for the
// delivery worker. The release a notification speaks of is read from the decision log.
import type Database from 'better-sqlite3';
import type { Logger } from 'pino';
import type { ReleaseRow as StoredReleaseRow } from '../adapters/sqlite/decision-log-reader.js';
import { decisionDedupKey, type GuardEvent as PlanEvent, type NotifiedDecision, type NotifiedRelease } from '../core/notification-plan.js';
import type { Paging } from '../guard/paging.js';
import { owedAnnouncements } from '../adapters/sqlite/owed-announcements.js';
import type { GuardEvent, GuardEventSink, OwedAnnouncement } from './guard-events.js';
import { isDecisionLogWriteError } from '../errors/decision-log-error.js';

type ReleaseRow = Pick<StoredReleaseRow, 'id' | 'namespace' | 'deployment' | 'started_at' | 'severity' | 'window_seconds'>;

/** The tag of the first image (`voice-server:1.4.1` -> `1.4.1`; an untagged reference as it is). */
function imageTag(images: readonly string[] | undefined): string | undefined {
  const first = images?.[0];
  return first?.includes(':') ? first.slice(first.lastIndexOf(':') + 1) : first;
}

/**
 * The version shown in messages: the image tag of the release, and of the one that ran before it when known.
 * Before it ran the newest earlier release that was not reverted (a rollback of it that happened, automatic or
 * manual, or that found it already done: `skipped`): a reverted release's images were replaced by those before
 * it (v1, then v2 reverted, then v3: v3 replaced v1, not v2).
 */
export function describeRelease(db: Database.Database, releaseId: number): { version?: string; previousVersion?: string } {
  const row = db.prepare(`SELECT namespace, deployment, images FROM releases WHERE id = ?`).get(releaseId) as { namespace: string; deployment: string; images: string | null } | undefined;
  const tag = (images: string | null) => imageTag(images ? (JSON.parse(images) as string[]) : undefined);
  if (!row) return {};
  const prev = db
    .prepare(`SELECT images FROM releases WHERE namespace = ? AND deployment = ? AND id < ? AND images IS NOT NULL AND NOT EXISTS (SELECT 1 FROM rollbacks b WHERE b.release_id = releases.id AND b.dry_run = 0 AND b.outcome IN ('rolled-back', 'skipped')) ORDER BY id DESC LIMIT 1`)
    .get(row.namespace, row.deployment, releaseId) as { images: string } | undefined;
  const version = tag(row.images);
  const previousVersion = prev ? tag(prev.images) : undefined;
  return { ...(version ? { version } : {}), ...(previousVersion ? { previousVersion } : {}) };
}

export class PagingSink implements GuardEventSink {
  /** Set once paging is composed (it needs the daemon for approvals, the daemon needs this sink). */
  paging: Paging | undefined;
  /** Told when a notification could not be stored because the decision log cannot be written. */
  onWriteError: ((err: Error) => void) | undefined;

  constructor(
    private readonly db: Database.Database,
    private readonly log: Logger,
    /** The daemon runs with --dry-run: its rollbacks are announced as not made, and nobody is paged about them. */
    private readonly dryRun = false,
  ) {}

  emit(e: GuardEvent): void {
    if (!this.paging) return;
    try {
      const planned = this.plan(e);
      if (!planned) return;
      const [release, event] = planned;
      this.paging.notify(release, event);
    } catch (err) {
      // A notification that cannot even be planned is logged loudly; it never stops a rollback.
      this.log.error({ error: (err as Error).message, event: e.kind }, 'could not queue a notification');
      if (isDecisionLogWriteError(err)) this.onWriteError?.(err);
    }
  }

  /** Committed facts whose notifications were never planned (a crash came between): see ADR 0013. */
  owed(since: number): OwedAnnouncement[] {
    return this.paging ? owedAnnouncements(this.db, since) : [];
  }

  /** The last "guard blind" page, when no live release has been read successfully since it (see GuardEventSink). */
  blindSince(): number | undefined {
    const key = this.db.prepare(`SELECT key FROM outbox WHERE key LIKE 'release-%:guard-blind:%' ORDER BY id DESC LIMIT 1`).pluck().get() as string | undefined;
    const at = key ? Number(/:guard-blind:(\d+):/.exec(key)?.[1]) : Number.NaN;
    if (!Number.isFinite(at)) return undefined;
    const read = this.db.prepare(`SELECT 1 FROM evaluations e JOIN releases r ON r.id = e.release_id WHERE r.source = 'live' AND e.verdict <> 'error' AND e.at > ? LIMIT 1`).get(new Date(at).toISOString());
    return read ? undefined : at;
  }

  private release(id: number): NotifiedRelease | undefined {
    const r = this.db.prepare(`SELECT id, namespace, deployment, started_at, severity, window_seconds FROM releases WHERE id = ?`).get(id) as ReleaseRow | undefined;
    if (!r) return undefined;
    return { id: r.id, namespace: r.namespace, deployment: r.deployment, startedAt: Date.parse(r.started_at), severity: r.severity, windowMs: r.window_seconds * 1000, ...describeRelease(this.db, id) };
  }

  /** The routing keys an incident was opened on for this decision's dedup key: the ones a resolve closes. */
  private pagedRoutingKeys(r: NotifiedRelease, d: NotifiedDecision): string[] {
    return this.db.prepare(`SELECT DISTINCT target FROM outbox WHERE channel = 'pagerduty' AND action = 'trigger' AND dedup_key = ?`).pluck().all(decisionDedupKey(r, d)) as string[];
  }

  /** The newest open release, as messages name it (read only: works while the log cannot be written). */
  latestRelease(): NotifiedRelease | undefined {
    return this.latestOpenRelease();
  }

  private latestOpenRelease(): NotifiedRelease | undefined {
    const row = this.db.prepare(`SELECT id FROM releases WHERE outcome IS NULL ORDER BY id DESC LIMIT 1`).get() as { id: number } | undefined;
    return row ? this.release(row.id) : undefined;
  }

  private plan(e: GuardEvent): [NotifiedRelease, PlanEvent] | undefined {
    switch (e.kind) {
      case 'release-started': {
        const r = this.release(e.releaseId);
        // The checklist's DEPLOY_START: key changes from the change cause, manager and ticket from annotations.
        return r && [{ ...r, ...(e.manager ? { manager: e.manager } : {}) }, { kind: 'release-started', at: e.at, ...(e.changeCause ? { changelog: e.changeCause } : {}), ...(e.tracking ? { tracking: e.tracking } : {}) }];
      }
      case 'decision': {
        const r = this.release(e.decision.releaseId);
        return r && [r, { kind: 'decision', decision: e.decision, ...(this.dryRun ? { dryRun: true } : {}), ...(e.summary ? { summary: e.summary } : {}) }];
      }
      case 'rollback-started':
        // An immediate rollback's own decision already announced ROLLBACK_START; approved ones announce below.
        return undefined;
      case 'rollback-finished': {
        const r = this.release(e.decision.releaseId);
        if (!r) return undefined;
        const o = e.outcome;
        if (this.dryRun) {
          // Only planned: its refusal or failure is news (the real one would have met it), never a page.
          if (o.kind === 'refused') return [r, { kind: 'dry-run-outcome', at: e.at, decision: e.decision, outcome: `would have been refused: ${o.reason}` }];
          if (o.kind === 'failed') return [r, { kind: 'dry-run-outcome', at: e.at, decision: e.decision, outcome: `could not even be planned: ${o.reason}` }];
          if (o.kind === 'skipped') return [r, { kind: 'dry-run-outcome', at: e.at, decision: e.decision, outcome: `was not needed: ${o.reason}` }];
          return undefined; // would-roll-back: the decision's DRY RUN message said it all
        }
        // What the rollback restored is known exactly: say that, not what the log guessed before it.
        const restored = o.kind === 'rolled-back' ? imageTag(o.images) : undefined;
        if (restored) r.previousVersion = restored;
        if (o.kind === 'rolled-back' || o.kind === 'skipped') {
          if (e.verification?.kind === 'failed') return [r, { kind: 'rollback-failed', at: e.at, decision: e.decision, error: `rollout did not complete: ${e.verification.detail}` }];
          return [r, { kind: 'rollback-complete', at: e.at, decision: e.decision, startedAt: e.decision.at, pagedRoutingKeys: this.pagedRoutingKeys(r, e.decision), ...(e.summary ? { summary: e.summary } : {}), ...(e.recoveryChecked !== undefined ? { recoveryChecked: e.recoveryChecked } : {}) }];
        }
        if (o.kind === 'refused') return [r, { kind: 'rollback-refused', at: e.at, decision: e.decision, reason: o.reason }];
        if (o.kind === 'failed') return [r, { kind: 'rollback-failed', at: e.at, decision: e.decision, error: o.reason }];
        return undefined; // dry run: the decision is logged, nothing happened to announce
      }
      case 'approved-rollback-started': {
        const r = this.release(e.decision.releaseId);
        return r && [r, { kind: 'rollback-started', at: e.at, decision: e.decision, by: e.by, ...(this.dryRun ? { dryRun: true } : {}) }];
      }
      case 'recovery-judged': {
        const r = this.release(e.decision.releaseId);
        return r && [r, { kind: 'recovery', at: e.at, since: e.since, decision: e.decision, outcome: e.outcome, readings: e.readings }];
      }
      case 'guard-blind': {
        const r = this.latestOpenRelease();
        return r && [r, { kind: 'guard-blind', at: e.at, detail: e.lastError }];
      }
      case 'guard-sighted':
        return undefined;
    }
  }
}
