import type { ThresholdRule } from '../../src/core/ruleset.js';
import { describe, expect, it } from 'vitest';
import { bindQuery, bindRuleset, isPerTarget, promLabelName, promqlString, selectorMatchers } from '../../src/core/bind-ruleset.js';
import { parseRules } from '../../src/core/parse-rules.js';
import type { RulesInvalidError } from '../../src/errors/rules-invalid-error.js';
import { TargetBindingError } from '../../src/errors/target-binding-error.js';

const CANARY = { namespace: 'voice-production', deployment: 'voice-server-canary', selector: { app: 'voice-server', track: 'canary' } };

describe('per-target queries: {{namespace}}, {{deployment}}, {{selector}}', () => {
  it.each([
    ['sum(rate(x{namespace="{{namespace}}", deployment="{{deployment}}"}[5m]))', 'sum(rate(x{namespace="voice-production", deployment="voice-server-canary"}[5m]))'],
    ['sum(rate(x{ {{selector}} }[5m]))', 'sum(rate(x{ app="voice-server",track="canary" }[5m]))'],
    ["sum(rate(x{status=~'5..',{{ selector }}}[5m])) / sum(rate(x{{{selector}}}[5m]))", "sum(rate(x{status=~'5..',app=\"voice-server\",track=\"canary\"}[5m])) / sum(rate(x{app=\"voice-server\",track=\"canary\"}[5m]))"],
    ['up{job="voice-server"}', 'up{job="voice-server"}'],
  ])('%s', (query, bound) => {
    expect(bindQuery(query, CANARY)).toBe(bound);
  });

  it('escapes what it substitutes: a value can neither end its string nor inject PromQL', () => {
    const hostile = { namespace: 'a"} or vector(1) #', deployment: "b'\\c\nd", selector: { 'app.kubernetes.io/name': 'x"y', '9lives': 'z' } };
    expect(bindQuery('x{namespace="{{namespace}}",deployment=\'{{deployment}}\'}', hostile)).toBe('x{namespace="a\\"} or vector(1) #",deployment=\'b\\\'\\\\c\\nd\'}');
    expect(selectorMatchers(hostile.selector)).toBe('_9lives="z",app_kubernetes_io_name="x\\"y"');
    expect([promqlString('tab\there'), promLabelName('app.kubernetes.io/part-of')]).toEqual(['tab\\there', 'app_kubernetes_io_part_of']);
  });

  it('a query that needs a selector the target does not give is an error naming it, never a broader query', () => {
    expect(() => bindQuery('x{ {{selector}} }', { namespace: 'ns', deployment: 'app' })).toThrow(TargetBindingError);
    expect(() => bindQuery('x{ {{selector}} }', { namespace: 'ns', deployment: 'app', selector: {} })).toThrow(/pod selector of ns\/app is not known/);
  });

  it('binds every query of a ruleset (rules, traffic floors, baselines, summaries) and keeps the file hash', () => {
    const rs = parseRules(
      `version: 1
targets: [{ namespace: voice-production, deployment: voice-server }, { namespace: voice-production, deployment: voice-server-canary }]
baselines:
  ttfa: { query: 'p95{deployment="{{deployment}}"}' }
notifications:
  summary:
    ERROR_RATE: { query: 'errors{ {{selector}} }' }
rules:
  - { name: errors, tier: immediate, query: 'errors{ {{selector}} }', above: 0.05, when: { query: 'requests{deployment="{{deployment}}"}', above: 1 } }
  - { name: ttfa, tier: considered, query: 'p95{deployment="{{deployment}}"}', above: { baseline: ttfa, factor: 1.5 } }
`,
      'per-target.yaml',
    );
    expect(isPerTarget(rs)).toBe(true);
    const bound = bindRuleset(rs, CANARY);
    expect(isPerTarget(bound)).toBe(false);
    expect(bound.hash).toBe(rs.hash);
    expect((bound.rules as ThresholdRule[]).map((r) => [r.query, r.when?.query])).toEqual([
      ['errors{ app="voice-server",track="canary" }', 'requests{deployment="voice-server-canary"}'],
      ['p95{deployment="voice-server-canary"}', undefined],
    ]);
    expect(bound.baselines[0]!.query).toBe('p95{deployment="voice-server-canary"}');
    expect(bound.notifications.summary.ERROR_RATE!.query).toBe('errors{ app="voice-server",track="canary" }');
    expect(bindRuleset(bound, { namespace: 'x', deployment: 'y' })).toBe(bound); // nothing left to bind
  });

  it('`check` refuses a placeholder that does not exist, at its line', () => {
    const bad = "version: 1\ntarget: { namespace: ns, deployment: app }\nrules:\n  - { name: r, tier: immediate, query: 'x{deployment=\"{{deploymnet}}\"}', above: 1 }\n";
    let problems: RulesInvalidError['problems'] = [];
    try {
      parseRules(bad, 'typo.yaml');
    } catch (err) {
      problems = (err as RulesInvalidError).problems;
    }
    expect(problems).toMatchObject([{ line: 4, rule: 'r', message: expect.stringContaining('`{{deploymnet}}` is not a placeholder') }]);
  });
});

describe('a hot reload that adds a {{selector}} query a release in progress cannot bind', () => {
  it('keeps that release on the rules it was judged with, and logs why', async () => {
    const { setup, release, RULES } = await import('../helpers/daemon-harness.js');
    const s = setup();
    await s.daemon.start();
    await s.releases.emit(release()); // no selector known for it
    const reloaded = parseRules(RULES.source.replace(/query: 'sum by \(namespace, deployment\) \(up\{[^']*\}\)'/, "query: 'sum(up{ {{selector}} })'"), 'reloaded.yaml');
    expect(reloaded.hash).not.toBe(RULES.hash);
    expect(() => s.daemon.setRulesets([reloaded])).not.toThrow();
    expect(s.daemon.status().rulesHashes['voice-production/voice-server']).toBe(reloaded.hash);
    await s.daemon.tick(s.clock.t);
    expect(s.daemon.status().activeReleases).toHaveLength(1);
  });
});
