// Approve or decline a considered decision (a pending page) by id. The verdict is one INSERT into `approvals`,
// whose primary key is the page's decision id: of two approvals at once, in one process or two, exactly one
// is recorded and acts; the other gets 409. Acting (the rollback) is a callback the daemon supplies.
import type Database from 'better-sqlite3';
import type { Evidence } from '../core/engine.js';
import { planNotifications, type NotifiedDecision, type NotifiedRelease } from '../core/notification-plan.js';
import { approvalRefusal } from '../core/approval-policy.js';
import type { Approver, NotificationSettings } from '../core/ruleset.js';
import { toRfc3339 } from '../core/time-format.js';
import { ApprovalError } from '../errors/approval-error.js';
import type { Outbox } from '../ports/outbox.js';
import type { DecisionRow as StoredDecisionRow } from '../adapters/sqlite/decision-log-reader.js';
import { pageOfDecision } from '../adapters/sqlite/page-of-decision.js';
import { recordApprovalOutcome } from '../adapters/sqlite/rollback-log.js';
import { failpoint } from '../adapters/failpoint/failpoint.js';

export type Verdict = 'approved' | 'declined';

export interface ApprovalRequest {
  decisionId: number;
  verdict: Verdict;
  by: string;
  reason?: string;
  via: 'api' | 'slack';
  /** The listed approver who pressed the Slack button; from the API the `by` name is looked up instead. */
  approver?: Approver;
}

/** What acting on an approval did, e.g. `{ ok: true, detail: 'rolled back to voice-server-7d9f' }`. */
export interface ActOutcome {
  ok: boolean;
  detail: string;
}

export interface Recorded {
  decisionId: number;
  /** The page decision the verdict was recorded on (the id given, or the page an escalation belongs to). */
  pageDecisionId: number;
  verdict: Verdict;
  by: string;
  at: string;
  /** Settles once acting is done (approved) or at once (declined). Never rejects. */
  outcome: Promise<ActOutcome | undefined>;
}

export interface ApprovalServiceOptions {
  db: Database.Database;
  outbox: Outbox;
  /** The notification settings of a release (its rules file's). */
  settings: (releaseId: number | null) => NotificationSettings;
  now: () => number;
  /** Carries out an approved rollback (the Kubernetes actuator, through the daemon). */
  act: (decision: NotifiedDecision) => Promise<ActOutcome>;
  /** Versions and the release manager for the messages, when the daemon knows them. */
  describeRelease?: (releaseId: number) => Partial<Pick<NotifiedRelease, 'version' | 'previousVersion' | 'manager'>>;
  /** Told of each verdict once it is committed (Kubernetes Events); must not throw. */
  onVerdict?: (v: { target: string; decisionId: number; verdict: Verdict; by: string; reason?: string }) => void;
}

/** The columns of a decision this service reads. */
type DecisionRow = Omit<StoredDecisionRow, 'rules_hash'>;

export class ApprovalService {
  private readonly inFlight = new Set<Promise<unknown>>();

  constructor(private readonly o: ApprovalServiceOptions) {}

  /** Resolves once every rollback started by an approval has finished (for a clean shutdown). */
  async idle(): Promise<void> {
    while (this.inFlight.size) await Promise.allSettled([...this.inFlight]);
  }

  /** Records the verdict (throws ApprovalError 400/403/404/409/410) and starts acting; await `outcome` for the result. */
  decide(req: ApprovalRequest): Recorded {
    const by = req.by.trim();
    if (!by || by.length > 100) throw new ApprovalError('RG_APPROVAL_INVALID', 'give the approver\'s name in "by" (1-100 characters)');
    const now = this.o.now();
    // The verdict and its notifications commit together: a crash after the commit cannot lose "approved by".
    const { page, target } = this.o.db.transaction(() => {
      const d = this.o.db.prepare(`SELECT * FROM decisions WHERE id = ?`).get(req.decisionId) as DecisionRow | undefined;
      if (!d) throw new ApprovalError('RG_APPROVAL_NOT_FOUND', `decision ${req.decisionId} does not exist in the decision log; check the id in the page`);
      if ((d.action !== 'page' && d.action !== 'escalate') || d.mode === 'shadow') {
        throw new ApprovalError('RG_APPROVAL_GONE', `decision ${d.id} is a ${d.mode === 'shadow' ? 'shadow ' : ''}${d.action}, not a pending page: only pages wait for approval`);
      }
      const pageId = d.action === 'page' ? d.id : pageOfDecision(this.o.db, d.id);
      const page = pageId === d.id ? d : pageId !== undefined ? (this.o.db.prepare(`SELECT * FROM decisions WHERE id = ?`).get(pageId) as DecisionRow) : undefined;
      if (!page) throw new ApprovalError('RG_APPROVAL_GONE', `decision ${d.id} has no page it belongs to`);
      const release = this.o.db.prepare(`SELECT * FROM releases WHERE id = ?`).get(page.release_id) as { id: number; namespace: string; deployment: string; started_at: string; severity: string; window_seconds: number; outcome: string | null; ended_at: string | null };
      if (release.outcome) throw new ApprovalError('RG_APPROVAL_GONE', `release ${release.id} of ${release.namespace}/${release.deployment} is over (${release.outcome} at ${release.ended_at}); decision ${d.id} can no longer be acted on`);
      const refusal = approvalRefusal(this.o.settings(release.id), { by, ...(req.approver ? { approver: req.approver } : {}) });
      if (refusal) throw new ApprovalError('RG_APPROVAL_FORBIDDEN', `decision ${d.id} not ${req.verdict}: ${refusal}`);
      const resolved = this.o.db.prepare(`SELECT at FROM decisions WHERE release_id = ? AND rule IS ? AND action = 'resolve' AND at >= ? ORDER BY at LIMIT 1`).get(page.release_id, page.rule, page.at) as { at: string } | undefined;
      if (resolved) throw new ApprovalError('RG_APPROVAL_GONE', `the page of decision ${d.id} (${page.rule}) resolved at ${resolved.at}: nothing is pending`);
      const prior = this.o.db.prepare(`SELECT verdict, by, at FROM approvals WHERE decision_id = ?`).get(page.id) as { verdict: string; by: string; at: string } | undefined;
      if (prior) throw new ApprovalError('RG_APPROVAL_ALREADY_DECIDED', `decision ${page.id} was already ${prior.verdict} by ${prior.by} at ${prior.at}; nothing was changed`);
      this.o.db.prepare(`INSERT INTO approvals (decision_id, verdict, by, reason, via, at) VALUES (?, ?, ?, ?, ?, ?)`).run(page.id, req.verdict, by, req.reason ?? null, req.via, new Date(now).toISOString());
      const top = this.o.db.prepare(`SELECT max(level) AS level FROM decisions WHERE release_id = ? AND rule IS ? AND action IN ('page', 'escalate') AND at >= ?`).get(page.release_id, page.rule, page.at) as { level: number | null };
      const notified: NotifiedRelease = {
        id: release.id, namespace: release.namespace, deployment: release.deployment, startedAt: Date.parse(release.started_at), severity: release.severity, windowMs: release.window_seconds * 1000,
        ...(this.o.describeRelease?.(release.id) ?? {}),
      };
      const event = { kind: 'approval', at: now, decision: toDecision(page), verdict: req.verdict, by, ...(req.reason ? { reason: req.reason } : {}), levelReached: top.level ?? page.level ?? 1 } as const;
      this.o.outbox.enqueue(planNotifications(this.o.settings(release.id), notified, event), release.id, now);
      return { page, target: `${release.namespace}/${release.deployment}` };
    }).immediate(); // BEGIN IMMEDIATE: two writers (two processes) serialise here, so the PK check above is the truth
    failpoint('after-approval-commit');
    try {
      this.o.onVerdict?.({ target, decisionId: page.id, verdict: req.verdict, by, ...(req.reason ? { reason: req.reason } : {}) });
    } catch {
      /* a listener's failure is its own */
    }

    const decision = toDecision(page);
    const outcome = req.verdict === 'approved' ? this.act(decision) : Promise.resolve(undefined);
    this.inFlight.add(outcome);
    void outcome.finally(() => this.inFlight.delete(outcome));
    return { decisionId: req.decisionId, pageDecisionId: page.id, verdict: req.verdict, by, at: toRfc3339(now), outcome };
  }

  private async act(decision: NotifiedDecision): Promise<ActOutcome> {
    let outcome: ActOutcome;
    try {
      outcome = await this.o.act(decision);
    } catch (err) {
      outcome = { ok: false, detail: err instanceof Error ? err.message : String(err) };
    }
    try {
      recordApprovalOutcome(this.o.db, decision.id, outcome, this.o.now());
    } catch (err) {
      return { ...outcome, detail: `${outcome.detail} (not recorded in the decision log: ${err instanceof Error ? err.message : String(err)})` };
    }
    return outcome;
  }
}

function toDecision(r: DecisionRow): NotifiedDecision {
  const d: NotifiedDecision = {
    id: r.id, at: Date.parse(r.at), action: r.action as NotifiedDecision['action'], tier: r.tier as NotifiedDecision['tier'], rule: r.rule, value: r.value, threshold: r.threshold,
    mode: r.mode as NotifiedDecision['mode'], evidence: JSON.parse(r.evidence) as Evidence,
  };
  if (r.level !== null) d.level = r.level;
  return d;
}
