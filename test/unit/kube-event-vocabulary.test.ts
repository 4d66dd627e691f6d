// The Kubernetes Events vocabulary: each guard event and outcome maps to one documented reason and type, with a
// note carrying the rule, value, threshold and decision id.
import fs from 'node:fs';
import { describe, expect, it } from 'vitest';
import type { GuardEvent } from '../../src/daemon/guard-events.js';
import { KUBE_EVENT_REASONS, kubeEventsOf, rulesRejectedEvents, verdictEvent, type KubeEventOf } from '../../src/daemon/kube-event-vocabulary.js';
import type { StoredDecision } from '../../src/ports/decision-store.js';
import { KubeEventSink } from '../../src/daemon/kube-event-sink.js';
import type { KubeEventSpec } from '../../src/adapters/kubernetes/event-recorder.js';

const T = 'voice-production/voice-server';
const AT = Date.parse('2026-12-07T10:00:00Z');
const release = { startedAt: AT - 60_000, severity: 'minor', windowEnd: AT + 600_000 };
const d = (over: Partial<StoredDecision> = {}): StoredDecision => ({
  id: 42, releaseId: 3, at: AT, action: 'rollback', tier: 'immediate', rule: 'error-rate-critical', value: 0.08, threshold: 0.05, mode: 'enforce',
  evidence: { value: 0.08, threshold: 0.05, comparison: 'above', release, rulesHash: 'h' }, ...over,
});
const rolled = { kind: 'rolled-back' as const, fromRevision: '2', toRevision: '1', images: ['voice-server:1.4.1'] };

const cases: [string, GuardEvent, Pick<KubeEventOf, 'reason' | 'type' | 'action'>, RegExp][] = [
  ['a release judged', { kind: 'release-started', releaseId: 3, target: T, revision: '2', images: ['voice-server:1.5.0'], severity: 'minor', at: AT, adopted: false }, { reason: 'ReleaseGuarded', type: 'Normal', action: 'Guard' }, /^release 3: revision 2 \(voice-server:1\.5\.0\), severity minor$/],
  ['an immediate rollback starting', { kind: 'rollback-started', decision: d(), target: T, at: AT }, { reason: 'RollbackStarted', type: 'Warning', action: 'Rollback' }, /^decision 42: error-rate-critical: 0\.08 > 0\.05 \(immediate\); rolling back$/],
  ['an approved rollback starting', { kind: 'approved-rollback-started', decision: d({ action: 'page', tier: 'considered' }), target: T, at: AT, by: 'alice' }, { reason: 'RollbackStarted', type: 'Warning', action: 'Rollback' }, /approved by alice; rolling back$/],
  ['a rollback rolled out', { kind: 'rollback-finished', decision: d(), target: T, at: AT, outcome: rolled, verification: { kind: 'complete', detail: '' }, recoveryChecked: true }, { reason: 'RollbackComplete', type: 'Normal', action: 'Rollback' }, /^decision 42: rolled back from revision 2 to 1 \(voice-server:1\.4\.1\); recovery being checked$/],
  ['a rollback whose rollout failed', { kind: 'rollback-finished', decision: d(), target: T, at: AT, outcome: rolled, verification: { kind: 'failed', detail: 'timed out after 5m' } }, { reason: 'RollbackFailed', type: 'Warning', action: 'Rollback' }, /did not complete: timed out after 5m$/],
  ['a rollback refused', { kind: 'rollback-finished', decision: d(), target: T, at: AT, outcome: { kind: 'refused', code: 'RG_ROLLBACK_PAUSED', reason: 'the Deployment is paused' } }, { reason: 'RollbackRefused', type: 'Warning', action: 'Rollback' }, /^decision 42: refused \(RG_ROLLBACK_PAUSED\): the Deployment is paused$/],
  ['a rollback patch failed', { kind: 'rollback-finished', decision: d(), target: T, at: AT, outcome: { kind: 'failed', reason: 'HTTP 500' } }, { reason: 'RollbackFailed', type: 'Warning', action: 'Rollback' }, /^decision 42: HTTP 500$/],
  ['a rollback already done', { kind: 'rollback-finished', decision: d(), target: T, at: AT, outcome: { kind: 'skipped', reason: 'already on revision 1' } }, { reason: 'RollbackSkipped', type: 'Normal', action: 'Rollback' }, /already on revision 1/],
  ['a dry-run rollback', { kind: 'rollback-finished', decision: d(), target: T, at: AT, outcome: { ...rolled, kind: 'would-roll-back' } }, { reason: 'RollbackDryRun', type: 'Normal', action: 'Rollback' }, /dry run: would roll back from revision 2 to 1; nothing changed/],
  ['recovered', { kind: 'recovery-judged', decision: d(), target: T, at: AT + 120_000, since: AT, outcome: 'recovered', readings: [{ rule: 'error-rate-critical', verdict: 'pass', value: 0.001, threshold: 0.05 }] }, { reason: 'ServiceRecovered', type: 'Normal', action: 'CheckRecovery' }, /^decision 42: recovered after 2m: error-rate-critical pass \(value 0\.001, threshold 0\.05\)$/],
  ['not recovered', { kind: 'recovery-judged', decision: d(), target: T, at: AT, since: AT, outcome: 'not-recovered', readings: [] }, { reason: 'RecoveryFailed', type: 'Warning', action: 'CheckRecovery' }, /not-recovered/],
  ['recovery unknown', { kind: 'recovery-judged', decision: d(), target: T, at: AT, since: AT, outcome: 'unknown', readings: [{ rule: 'error-rate-critical', verdict: 'no-data', value: null, threshold: 0.05 }] }, { reason: 'RecoveryUnknown', type: 'Warning', action: 'CheckRecovery' }, /no-data \(value no data, threshold 0\.05\)/],
  ['a page', { kind: 'decision', decision: d({ action: 'page', tier: 'considered', rule: 'error-rate-sustained', value: 0.02, threshold: 0.01, level: 1 }), target: T }, { reason: 'ReleasePaged', type: 'Warning', action: 'Page' }, /^decision 42: error-rate-sustained: 0\.02 > 0\.01 \(considered\); paged level 1, waiting for approval: rollback-guard approve 42$/],
  ['an escalation', { kind: 'decision', decision: d({ action: 'escalate', tier: 'considered', level: 2 }), target: T }, { reason: 'PageEscalated', type: 'Warning', action: 'Escalate' }, /escalated to level 2$/],
  ['a resolve', { kind: 'decision', decision: d({ action: 'resolve', tier: 'considered' }), target: T }, { reason: 'PageResolved', type: 'Normal', action: 'Resolve' }, /the rule stopped firing$/],
  ['a give-up', { kind: 'decision', decision: d({ action: 'resolve', evidence: { ...d().evidence, gaveUp: { unknownSince: AT - 1_800_000, afterMs: 1_800_000 } } }), target: T }, { reason: 'GuardGaveUp', type: 'Warning', action: 'Resolve' }, /data unknown since 2026-12-07T09:30:00Z \(giveUpAfter 30m\): the page is left open for people/],
  ['a promote', { kind: 'decision', decision: d({ action: 'promote', tier: null, rule: null }), target: T }, { reason: 'ReleasePromoted', type: 'Normal', action: 'Promote' }, /^decision 42: the guard window ended with no rule firing; release kept$/],
];

describe('kubeEventsOf', () => {
  it.each(cases)('%s', (_what, e, expected, note) => {
    const events = kubeEventsOf(e, [T]);
    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({ target: T, ...expected });
    expect(events[0]!.note).toMatch(note);
    expect(KUBE_EVENT_REASONS[events[0]!.reason].type).toBe(events[0]!.type);
  });

  it('a rollback decision is recorded when it starts, not twice', () => {
    expect(kubeEventsOf({ kind: 'decision', decision: d(), target: T }, [T])).toEqual([]);
  });

  it('guard-wide events are recorded on each Deployment being judged, and on none when nothing is', () => {
    const blind: GuardEvent = { kind: 'guard-blind', at: AT, since: AT - 120_000, lastError: 'ECONNREFUSED' };
    expect(kubeEventsOf(blind, [T, 'voice-production/voice-canary']).map((e) => [e.target, e.reason, e.type])).toEqual([
      [T, 'GuardBlind', 'Warning'],
      ['voice-production/voice-canary', 'GuardBlind', 'Warning'],
    ]);
    expect(kubeEventsOf(blind, [])).toEqual([]);
    expect(kubeEventsOf({ kind: 'guard-sighted', at: AT, blindForMs: 180_000 }, [T])[0]).toMatchObject({ reason: 'GuardSighted', type: 'Normal', note: 'Prometheus readable again after 3m' });
    expect(rulesRejectedEvents([T], 'rules.yaml:4: unknown key').map((e) => [e.reason, e.type, e.note])).toEqual([['RulesRejected', 'Warning', 'rules reload rejected; the previous rules stay in force: rules.yaml:4: unknown key']]);
  });

  it('verdicts', () => {
    expect(verdictEvent(T, { decisionId: 42, verdict: 'approved', by: 'alice', reason: 'errors on every call' })).toMatchObject({ reason: 'RollbackApproved', type: 'Normal', action: 'Approve', note: 'decision 42: approved by alice (errors on every call)' });
    expect(verdictEvent(T, { decisionId: 42, verdict: 'declined', by: 'bob' })).toMatchObject({ reason: 'RollbackDeclined', type: 'Normal', action: 'Decline', note: 'decision 42: declined by bob' });
  });

  it('every reason of the vocabulary is produced by some event, and the README lists each with its type', () => {
    const produced = new Set([
      ...cases.flatMap(([, e]) => kubeEventsOf(e, [T]).map((x) => x.reason)),
      ...kubeEventsOf({ kind: 'guard-blind', at: AT, since: AT, lastError: 'x' }, [T]).map((x) => x.reason),
      ...kubeEventsOf({ kind: 'guard-sighted', at: AT, blindForMs: 1 }, [T]).map((x) => x.reason),
      ...rulesRejectedEvents([T], 'x').map((x) => x.reason),
      verdictEvent(T, { decisionId: 1, verdict: 'approved', by: 'a' }).reason,
      verdictEvent(T, { decisionId: 1, verdict: 'declined', by: 'a' }).reason,
    ]);
    expect([...produced].sort()).toEqual(Object.keys(KUBE_EVENT_REASONS).sort());
    const readme = fs.readFileSync(new URL('../../README.md', import.meta.url), 'utf8');
    for (const [reason, { type }] of Object.entries(KUBE_EVENT_REASONS)) expect(readme, reason).toMatch(new RegExp(`^\\| \`${reason}\` \\| ${type} \\|`, 'm'));
  });
});

describe('KubeEventSink', () => {
  it('records on the Deployment named by the target, and only while this replica leads', () => {
    const recorded: KubeEventSpec[] = [];
    let leading = true;
    const sink = new KubeEventSink({ record: (e) => recorded.push(e) }, () => [T], () => leading);
    sink.emit({ kind: 'rollback-started', decision: d(), target: T, at: AT });
    leading = false;
    sink.emit({ kind: 'rollback-started', decision: d(), target: T, at: AT });
    sink.verdict(T, { decisionId: 42, verdict: 'declined', by: 'bob' });
    sink.rulesRejected('bad');
    expect(recorded.map((e) => [e.namespace, e.deployment, e.reason])).toEqual([['voice-production', 'voice-server', 'RollbackStarted']]);
  });
});
