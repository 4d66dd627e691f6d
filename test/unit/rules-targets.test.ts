import { describe, expect, it } from 'vitest';
import { parseRules } from '../../src/core/parse-rules.js';
import { RulesInvalidError } from '../../src/errors/rules-invalid-error.js';

const RULES = "rules:\n  - { name: errors, tier: immediate, query: 'up', above: 1 }\n";
const problems = (text: string) => {
  try {
    parseRules(text, 'r.yaml');
  } catch (err) {
    if (err instanceof RulesInvalidError) return err.problems.map((p) => `${p.line}:${p.column}: ${p.message}`);
    throw err;
  }
  return [];
};

describe('rules file: targets and rollback settings', () => {
  it('target: defaults to the undo strategy', () => {
    const r = parseRules(`version: 1\ntarget: { namespace: voice-production, deployment: voice-server }\n${RULES}`, 'r.yaml');
    expect(r.targets).toEqual([{ namespace: 'voice-production', deployment: 'voice-server', rollback: { strategy: 'undo' } }]);
    expect(r.target).toEqual(r.targets[0]);
  });

  it('targets: several Deployments, each with its own rollback strategy', () => {
    const r = parseRules(
      `version: 1\ntargets:\n  - { namespace: voice-production, deployment: voice-server }\n  - namespace: voice-production\n    deployment: voice-server-canary\n    rollback: { strategy: previous-version-annotation, container: voice-server }\n${RULES}`,
      'r.yaml',
    );
    expect(r.targets.map((t) => [t.deployment, t.rollback])).toEqual([
      ['voice-server', { strategy: 'undo' }],
      ['voice-server-canary', { strategy: 'previous-version-annotation', container: 'voice-server' }],
    ]);
  });

  it('refuses neither or both of target/targets, duplicates, a bad strategy, and a container without the annotation strategy', () => {
    expect(problems(`version: 1\n${RULES}`)).toEqual(['1:1: no Deployment to guard: give `target:` (one Deployment), `targets:` (a list) or `select:` (a fleet, by label)']);
    expect(problems(`version: 1\ntarget: { namespace: a, deployment: b }\ntargets: [{ namespace: a, deployment: b }]\n${RULES}`)).toEqual(['1:1: has `target:` and `targets:`; give one of them']);
    expect(problems(`version: 1\ntarget: { namespace: a, deployment: b }\nselect: { matchLabels: { team: voice } }\n${RULES}`)).toEqual(['1:1: has `target:` and `select:`; give one of them']);
    // A fleet needs at least one label (an empty selector would guard every Deployment), and only known keys.
    expect(problems(`version: 1\nselect: { matchLabels: {} }\n${RULES}`)).toEqual([expect.stringMatching(/^2:\d+: .*must name at least one label/)]);
    expect(problems(`version: 1\nselect: { labels: { a: b } }\n${RULES}`)).toEqual(expect.arrayContaining([expect.stringMatching(/labels/)]));
    expect(problems(`version: 1\nselect: { matchLabels: { a: b }, rollback: { container: app } }\n${RULES}`)).toEqual([expect.stringMatching(/rollback.container. only applies/)]);
    expect(problems(`version: 1\ntargets: [{ namespace: a, deployment: b }, { namespace: a, deployment: b }]\n${RULES}`)).toEqual([expect.stringContaining('`targets[1]` repeats a/b (targets[0] has it already)')]);
    expect(problems(`version: 1\ntarget: { namespace: a, deployment: b, rollback: { strategy: revert } }\n${RULES}`)).toEqual([expect.stringContaining('expected "undo" or "previous-version-annotation", found string "revert"')]);
    expect(problems(`version: 1\ntarget: { namespace: a, deployment: b, rollback: { container: x } }\n${RULES}`)).toEqual([expect.stringContaining('`rollback.container` only applies to `strategy: previous-version-annotation`')]);
  });
});
