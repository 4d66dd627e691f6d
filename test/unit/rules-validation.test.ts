import fs from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parseDuration, formatDuration } from '../../src/core/duration.js';
import { parseRules } from '../../src/core/parse-rules.js';
import { RulesInvalidError, type RulesProblem } from '../../src/errors/rules-invalid-error.js';

function problems(text: string): RulesProblem[] {
  try {
    parseRules(text, 'r.yaml');
  } catch (err) {
    expect(err).toBeInstanceOf(RulesInvalidError);
    expect((err as RulesInvalidError).code).toBe('RG_RULES_INVALID');
    return [...(err as RulesInvalidError).problems];
  }
  throw new Error('expected the rules to be rejected');
}

const HEAD = 'version: 1\ntarget: { namespace: ns, deployment: app }\n';
const OK_RULE = "  - name: ok\n    tier: immediate\n    query: 'up'\n    above: 1\n";

describe('the shipped rules file', () => {
  it('is valid and encodes every measurable Phase 5.1 trigger', () => {
    const rs = parseRules(fs.readFileSync('rules/voice-server.yaml', 'utf8'), 'rules/voice-server.yaml');
    const byName = Object.fromEntries(rs.rules.map((r) => [r.name, r]));
    expect(byName['error-rate-critical']).toMatchObject({ tier: 'immediate', comparison: 'above', threshold: { kind: 'static', value: 0.05 } });
    expect(byName['session-creation-failure-critical']).toMatchObject({ tier: 'immediate', threshold: { kind: 'static', value: 0.1 } });
    expect(byName['ttfa-p95-critical']).toMatchObject({ tier: 'immediate', threshold: { kind: 'baseline', baseline: 'ttfa_p95', factor: 3 } });
    expect(byName['complete-outage']).toMatchObject({ tier: 'immediate', comparison: 'below', noData: 'breach' });
    expect(byName['error-rate-sustained']).toMatchObject({ tier: 'considered', forMs: 15 * 60_000, threshold: { kind: 'static', value: 0.01 } });
    expect(byName['ttfa-regression']).toMatchObject({ tier: 'considered', threshold: { kind: 'baseline', factor: 1.5 } });
    expect(byName['memory-growth']).toMatchObject({ tier: 'considered', threshold: { kind: 'baseline', baseline: 'memory_per_pod', factor: 1.1 } });
    expect(rs.escalation).toEqual([{ level: 1, afterMs: 0 }, { level: 2, afterMs: 900_000 }, { level: 3, afterMs: 1_800_000 }]);
    expect(rs.windowsMs).toEqual({ hotfix: 900_000, minor: 3_600_000, major: 14_400_000, infrastructure: 86_400_000 });
  });

  it('its commented notifications block, uncommented, is valid as it stands (6.1-6.3)', () => {
    const text = fs.readFileSync('rules/voice-server.yaml', 'utf8');
    const start = text.indexOf('# notifications:');
    const end = text.indexOf('\nrules:');
    expect(start).toBeGreaterThan(0);
    const uncommented = text.slice(0, start) + text.slice(start, end).replace(/^# ?/gm, '') + text.slice(end);
    const n = parseRules(uncommented, 'voice-server.yaml').notifications;
    expect(n.levels.map((l) => l.level)).toEqual([1, 2, 3, 4]);
    expect(Object.keys(n.summary)).toEqual(['ERROR_RATE', 'LATENCY']);
    expect(n.email?.smtp).toEqual({ host: 'smtp.example.com', port: 587, tls: 'starttls' });
    expect(n.approvalLevel).toBe(2);
    expect(n.approvers).toEqual({ U024BE7LH: { name: 'dana', level: 2 } });
  });
});

describe('defaults', () => {
  it('fills for, noData, mode, interval, windows and the checklist ladder', () => {
    const rs = parseRules(HEAD + 'rules:\n' + OK_RULE, 'r.yaml');
    expect(rs.rules[0]).toMatchObject({ forMs: 0, noData: 'ignore', mode: 'enforce' });
    expect(rs.intervalMs).toBe(15_000);
    expect(rs.windowsMs.minor).toBe(3_600_000);
    expect(rs.escalation.map((s) => s.level)).toEqual([1, 2, 3]);
  });
});

describe('validation errors name the file, line, column, rule, what was found and what was expected', () => {
  const cases: { name: string; text: string; want: Omit<Partial<RulesProblem>, 'message'> & { message: RegExp } }[] = [
    { name: 'unknown key in a rule', text: HEAD + 'rules:\n' + OK_RULE + '    treshold: 3\n', want: { line: 8, column: 5, rule: 'ok', message: /unknown key "treshold".*expected one of: name, description, tier/ } },
    { name: 'unknown top-level key', text: HEAD + 'rulez: []\nrules:\n' + OK_RULE, want: { line: 3, column: 1, message: /unknown key "rulez" at the top level/ } },
    { name: 'wrong type', text: HEAD + 'rules:\n' + OK_RULE.replace('above: 1', 'above: lots'), want: { line: 7, column: 12, rule: 'ok', message: /`above` must be a number, \{ baseline: <name>, factor: <number> \}, or \{ stable: true.*found string "lots"/ } },
    { name: 'infinite threshold', text: HEAD + 'rules:\n' + OK_RULE.replace('above: 1', 'above: .inf'), want: { line: 7, column: 12, rule: 'ok', message: /found \.inf \(not a finite number\)/ } },
    { name: 'baseline factor of zero', text: HEAD + 'baselines:\n  ttfa: { query: up }\nrules:\n' + OK_RULE.replace('above: 1', 'above: { baseline: ttfa, factor: 0 }'), want: { line: 9, rule: 'ok', message: /`above.factor` must be greater than 0 \(a multiplier of the baseline/ } },
    { name: 'bad duration', text: HEAD + 'rules:\n' + OK_RULE + '    for: 5 min\n', want: { line: 8, column: 10, rule: 'ok', message: /`for` is not a duration.*found string "5 min"/ } },
    { name: 'bad enum', text: HEAD + 'rules:\n' + OK_RULE.replace('immediate', 'urgent'), want: { line: 5, column: 11, message: /`tier`: expected "immediate" or "considered", found string "urgent"/ } },
    { name: 'duplicate rule names', text: HEAD + 'rules:\n' + OK_RULE + OK_RULE, want: { line: 8, column: 11, rule: 'ok', message: /duplicate rule name "ok"/ } },
    { name: 'undefined baseline', text: HEAD + 'rules:\n' + OK_RULE.replace('above: 1', 'above: { baseline: ttfa, factor: 3 }'), want: { line: 7, column: 24, message: /refers to "ttfa", which is not defined under `baselines:`/ } },
    { name: 'both above and below', text: HEAD + 'rules:\n' + OK_RULE + '    below: 0\n', want: { line: 4, column: 5, rule: 'ok', message: /has both `above:` and `below:`/ } },
    { name: 'neither above nor below', text: HEAD + 'rules:\n' + OK_RULE.replace('    above: 1\n', ''), want: { line: 4, column: 5, message: /has neither `above:` nor `below:`/ } },
    { name: 'empty query', text: HEAD + 'rules:\n' + OK_RULE.replace("query: 'up'", "query: '  '"), want: { line: 6, column: 12, message: /`query` is empty/ } },
    { name: 'missing query', text: HEAD + 'rules:\n' + OK_RULE.replace("    query: 'up'\n", ''), want: { line: 4, column: 5, message: /has none of `query:`, `slo:` or `judge:`; give one/ } },
    { name: 'wrong version', text: HEAD.replace('version: 1', 'version: 2') + 'rules:\n' + OK_RULE, want: { line: 1, column: 10, message: /`version`: expected 1, found number 2/ } },
    { name: 'YAML syntax', text: HEAD + 'rules: [\n  - a\n', want: { line: 4, message: /^YAML syntax/ } },
    { name: 'duplicate YAML key', text: HEAD + 'rules:\n' + OK_RULE + '    tier: considered\n', want: { line: 8, message: /YAML syntax: Map keys must be unique/ } },
    { name: 'empty file', text: '', want: { line: 1, column: 1, message: /the file is empty/ } },
    { name: 'no rules', text: HEAD + 'rules: []\n', want: { line: 3, column: 8, message: /must list at least one rule/ } },
    { name: 'ladder that does not climb', text: HEAD + 'escalation:\n  - { level: 1, after: 0m }\n  - { level: 1, after: 10m }\nrules:\n' + OK_RULE, want: { line: 5, column: 14, message: /levels must increase/ } },
    { name: 'approval level nobody holds', text: HEAD + "notifications:\n  approvalLevel: 2\n  approvers: { U1: alice, U2: { name: bob, level: 1 } }\nrules:\n" + OK_RULE, want: { line: 4, column: 18, message: /`notifications.approvalLevel` is 2, but no approver is listed at level 2 or higher/ } },
    { name: 'approver without a name', text: HEAD + "notifications:\n  approvers: { U1: { level: 2 } }\nrules:\n" + OK_RULE, want: { line: 4, column: 20, message: /`notifications.approvers.U1` must be a name, or \{ name: <name>, level: <1-4> \}, found a mapping/ } },
    { name: 'approver level out of range', text: HEAD + "notifications:\n  approvers: { U1: { name: bob, level: 5 } }\nrules:\n" + OK_RULE, want: { line: 4, column: 40, message: /`notifications.approvers.U1.level` Too big: expected number to be <=4, found number 5/ } },
    { name: 'when with no bound', text: HEAD + 'rules:\n' + OK_RULE + "    when: { query: 'rps' }\n", want: { line: 8, column: 11, message: /`when:` needs exactly one/ } },
  ];
  it.each(cases)('$name', ({ text, want }) => {
    const found = problems(text);
    const match = found.find((p) => want.message.test(p.message));
    expect(match, `no problem matching ${want.message} in ${JSON.stringify(found, null, 1)}`).toBeDefined();
    expect(match).toMatchObject({ ...want, file: 'r.yaml', message: expect.stringMatching(want.message) });
  });

  it('a YAML syntax error shows its first few errors, not one per later token', () => {
    const broken = HEAD + 'rules:\n' + OK_RULE + '  notifications:\n    bad: [\n' + OK_RULE.repeat(20);
    const found = problems(broken);
    expect(found.length).toBeLessThanOrEqual(3);
    expect(found[0]!.message).toMatch(/^YAML syntax/);
    expect(found.at(-1)!.message).toMatch(/\(and \d+ more YAML errors after it, most caused by the first\)$/);
  });

  it('reports every problem at once, sorted by position', () => {
    const found = problems(HEAD + 'rules:\n' + OK_RULE.replace('immediate', 'x') + OK_RULE.replace('ok', 'Bad'));
    expect(found.length).toBeGreaterThanOrEqual(2);
    expect(found.map((p) => p.line)).toEqual([...found.map((p) => p.line)].sort((a, b) => a - b));
  });
});

describe('durations (Prometheus syntax)', () => {
  it.each([
    ['0s', 0],
    ['90s', 90_000],
    ['1h30m', 5_400_000],
    ['15m', 900_000],
    ['1d', 86_400_000],
    ['250ms', 250],
  ])('%s = %d ms', (text, ms) => {
    expect(parseDuration(text)).toBe(ms);
  });
  it.each(['', '5', '5 m', 'm5', '1m1h', '-1m', '1.5h'])('rejects %j', (text) => {
    expect(parseDuration(text)).toBeUndefined();
  });
  it('formats back', () => {
    expect(formatDuration(5_415_000)).toBe('1h30m15s');
    expect(formatDuration(0)).toBe('0s');
  });
});
