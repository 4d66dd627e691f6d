// Child process for the crash test: commits one instant, then starts a large transaction and signals the parent,
// which SIGKILLs it mid-write. Run with tsx.
import { openDecisionLog } from '../../src/adapters/sqlite/sqlite-decision-store.js';
import { parseRules } from '../../src/core/parse-rules.js';

const file = process.argv[2]!;
const rs = parseRules("version: 1\ntarget: { namespace: ns, deployment: app }\nrules:\n  - { name: r, tier: immediate, query: 'q', above: 1 }\n", 'crash.yaml');
const store = openDecisionLog(file);
const rel = store.startRelease({ namespace: 'ns', deployment: 'app', startedAt: 0, severity: 'minor', windowMs: 3_600_000, source: 'test' }, rs, {});
store.recordInstant(rel.id, 0, { rules: { r: { state: 'pending', activeAt: 0 } } }, [{ rule: 'r', at: 0, verdict: 'breach', state: 'pending', value: 2, threshold: 1 }], []);
const ev = { rule: 'r', at: 15_000, verdict: 'breach' as const, state: 'pending' as const, value: 2, threshold: 1 };
const many = Array.from({ length: 2_000_000 }, () => ev);
process.stdout.write('committed\n');
// Never returns before the parent kills it: the transaction is too large to finish in time.
store.recordInstant(rel.id, 15_000, { rules: { r: { state: 'firing', activeAt: 0, firedAt: 15_000 } } }, many, []);
process.stdout.write('finished\n');
