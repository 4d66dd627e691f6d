import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { automaticRollbacks, findRelease, recordRollback, recordVerification, rollbacksOf, setReleaseIdentity } from '../../src/adapters/sqlite/rollback-log.js';
import { openDecisionLog } from '../../src/adapters/sqlite/sqlite-decision-store.js';
import { parseRules } from '../../src/core/parse-rules.js';
import { describeRelease } from '../../src/daemon/paging-sink.js';
import { useTempDir } from '../helpers/temp-dir.js';

const tmp = useTempDir();
const rs = parseRules("version: 1\ntarget: { namespace: ns, deployment: app }\nrules:\n  - { name: r, tier: immediate, query: 'q', above: 1 }\n", 'r.yaml');
const ref = { namespace: 'ns', deployment: 'app' };
const T = Date.parse('2026-11-20T14:00:00Z');

describe('decision log: rollbacks and release identity (real SQLite)', () => {
  it('remembers a release by revision across a reopen (adoption keeps its start), and counts automatic rollbacks', () => {
    const file = path.join(tmp(), 'd.db');
    let store = openDecisionLog(file);
    const rel = store.startRelease({ ...ref, startedAt: T, severity: 'minor', windowMs: 3_600_000, source: 'live' }, rs, {});
    setReleaseIdentity(store.db, rel.id, { revision: '7', images: ['app:1.2'], changeCause: 'release 1.2' });
    const base = { ...ref, releaseId: rel.id, requestedAt: T + 60_000, finishedAt: T + 61_000, reason: 'errors', strategy: 'undo' };
    recordRollback(store.db, { ...base, by: 'rollback-guard', dryRun: true, outcome: { kind: 'would-roll-back', fromRevision: '7', toRevision: '6', images: ['app:1.1'] } });
    expect(automaticRollbacks(store.db, rel.id)).toBe(0);
    const id = recordRollback(store.db, { ...base, by: 'rollback-guard', dryRun: false, outcome: { kind: 'rolled-back', fromRevision: '7', toRevision: '6', images: ['app:1.1'] } });
    recordVerification(store.db, id, { kind: 'complete', detail: 'available 3 of 3' }, T + 90_000);
    recordRollback(store.db, { ...base, by: 'rollback-guard', dryRun: false, outcome: { kind: 'refused', code: 'ping-pong', reason: 'no' } });
    store.close();

    store = openDecisionLog(file);
    expect(findRelease(store.db, ref, '7')).toEqual({ id: rel.id, startedAt: T, outcome: null });
    expect(findRelease(store.db, ref, '8')).toBeUndefined();
    expect(automaticRollbacks(store.db, rel.id)).toBe(1);
    expect(rollbacksOf(store.db, ref).map((r) => [r.outcome, r.from_revision, r.to_revision, r.refusal_code, r.verification])).toEqual([
      ['would-roll-back', '7', '6', null, null],
      ['rolled-back', '7', '6', null, 'rollback-complete'],
      ['refused', null, null, 'ping-pong', null],
    ]);
    const row = store.db.prepare('SELECT requested_at, verified_at, images FROM rollbacks WHERE id = ?').get(id);
    expect(row).toEqual({ requested_at: '2026-11-20T14:01:00.000Z', verified_at: '2026-11-20T14:01:30.000Z', images: '["app:1.1"]' });
    store.close();
  });

  it("messages name as the previous version what ran before the release: a reverted release is skipped, a refused or dry-run rollback is not", () => {
    const store = openDecisionLog(path.join(tmp(), 'd.db'));
    const release = (minutes: number, image: string) => {
      const r = store.startRelease({ ...ref, startedAt: T + minutes * 60_000, severity: 'minor', windowMs: 3_600_000, source: 'live' }, rs, {});
      setReleaseIdentity(store.db, r.id, { revision: String(minutes), images: [image] });
      return r.id;
    };
    const rollback = (releaseId: number, outcome: Parameters<typeof recordRollback>[1]['outcome'], dryRun = false) =>
      recordRollback(store.db, { ...ref, releaseId, requestedAt: T, finishedAt: T, reason: 'errors', strategy: 'undo', by: 'rollback-guard', dryRun, outcome });
    const v1 = release(0, 'app:1.0');
    expect(describeRelease(store.db, v1)).toEqual({ version: '1.0' });
    const v2 = release(10, 'app:2.0');
    rollback(v2, { kind: 'rolled-back', fromRevision: '10', toRevision: '0', images: ['app:1.0'] });
    const v3 = release(20, 'app:3.0');
    expect(describeRelease(store.db, v3)).toEqual({ version: '3.0', previousVersion: '1.0' });
    rollback(v3, { kind: 'refused', code: 'paused', reason: 'paused' });
    rollback(v3, { kind: 'would-roll-back', fromRevision: '20', toRevision: '0', images: ['app:1.0'] }, true);
    const v4 = release(30, 'app:4.0');
    expect(describeRelease(store.db, v4)).toEqual({ version: '4.0', previousVersion: '3.0' });
    // Reconciled after a crash between the patch and its record: found already done, so reverted too.
    rollback(v4, { kind: 'skipped', reason: 'decision 9 was already carried out' });
    const v5 = release(40, 'app:5.0');
    expect(describeRelease(store.db, v5)).toEqual({ version: '5.0', previousVersion: '3.0' });
    store.close();
  });
});
