import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { SqliteActionJournal } from '../../src/adapters/sqlite/sqlite-action-journal.js';
import { openDecisionLog } from '../../src/adapters/sqlite/sqlite-decision-store.js';
import { comparisonText, decisionText, formatValue } from '../../src/core/comparison-text.js';
import { parseRules } from '../../src/core/parse-rules.js';
import { useTempDir } from '../helpers/temp-dir.js';

const tmp = useTempDir();

describe('"value OP threshold", one rendering for every reader', () => {
  it.each([
    [{ value: 0.0712, threshold: 0.05, comparison: 'above' as const }, '0.0712 > 0.05'],
    [{ value: 0, threshold: 1, comparison: 'below' as const }, '0 < 1'],
    [{ value: 0.123456, threshold: 0.05 }, '0.1235 > 0.05'],
    [{ value: null, threshold: 0.05, comparison: 'above' as const }, 'no data > 0.05'],
    [{ value: Infinity, threshold: null, comparison: 'above' as const }, '+Inf > n/a'],
    [{ value: 0.00002, threshold: 2_500_000, comparison: 'below' as const }, '2e-5 < 2.5e+6'],
  ])('%j reads %s', (c, text) => {
    expect(comparisonText(c)).toBe(text);
  });

  it('says what a decision was about: its rule and comparison, or a manual one\'s note', () => {
    expect([
      decisionText({ rule: 'outage', value: 0, threshold: 1, evidence: { comparison: 'below' } }),
      decisionText({ rule: 'error-rate', value: 0.08, threshold: 0.05, evidence: {} }),
      decisionText({ rule: null, value: null, threshold: null, evidence: { note: 'manual trigger by alice: CVE' } }),
      decisionText({ rule: null, value: null, threshold: null, evidence: {} }),
    ]).toEqual(['outage: 0 < 1', 'error-rate: 0.08 > 0.05', 'manual trigger by alice: CVE', 'manual rollback']);
  });

  it('formats a missing value as asked', () => {
    expect([formatValue(undefined), formatValue(null, 'n/a'), formatValue(Number.NaN), formatValue(-Infinity)]).toEqual(['-', 'n/a', 'NaN', '-Inf']);
  });

  it('the reason of a rollback reconciled after a restart writes < for a `below` rule (it wrote >)', () => {
    const rs = parseRules("version: 1\ntarget: { namespace: ns, deployment: app }\nrules:\n  - { name: outage, tier: immediate, query: 'up', below: 1 }\n", 'r.yaml');
    const store = openDecisionLog(path.join(tmp(), 'd.db'));
    const rel = store.startRelease({ namespace: 'ns', deployment: 'app', startedAt: 0, severity: 'minor', windowMs: 3_600_000, source: 'live' }, rs, {});
    const release = { startedAt: 0, severity: 'minor', windowEnd: 3_600_000 };
    store.recordInstant(rel.id, 15_000, { rules: {} }, [], [{ at: 15_000, action: 'rollback', tier: 'immediate', rule: 'outage', value: 0, threshold: 1, mode: 'enforce', evidence: { rule: 'outage', comparison: 'below', value: 0, threshold: 1, release, rulesHash: rs.hash } }]);
    expect(new SqliteActionJournal(store.db).unfinishedRollbacks(0).map((u) => u.reason)).toEqual(['outage: 0 < 1 (completed after a restart)']);
    store.close();
  });
});
