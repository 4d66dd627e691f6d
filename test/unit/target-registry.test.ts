import { describe, expect, it } from 'vitest';
import { parseRules } from '../../src/core/parse-rules.js';
import { TargetRegistry } from '../../src/daemon/target-registry.js';

const fleet = (file: string, namespace?: string) =>
  parseRules(`version: 1\nselect:\n  ${namespace ? `namespace: ${namespace}\n  ` : ''}matchLabels: { guard: "true" }\n  rollback: { strategy: previous-version-annotation }\nrules:\n  - { name: up, tier: immediate, query: 'up{deployment="{{deployment}}"}', below: 1 }\n`, file);
const listed = parseRules(`version: 1\ntargets: [{ namespace: shop, deployment: api }]\nrules:\n  - { name: up, tier: immediate, query: 'up', below: 1 }\n`, 'listed.yaml');

describe('TargetRegistry: which file guards which Deployment', () => {
  it('listed and selected Deployments; a second file claiming one is a conflict at its `select:`, cleared when it lets go', () => {
    const r = new TargetRegistry();
    r.set([listed, fleet('fleet.yaml', 'shop'), fleet('all.yaml')]);
    const change = (kind: 'added' | 'removed', deployment: string, selection: string, namespace = 'shop') => ({ kind, namespace, deployment, selection });
    expect(r.select(change('added', 'cart', 'fleet.yaml'))).toEqual({ kind: 'added' });
    expect(r.select(change('added', 'cart', 'fleet.yaml'))).toEqual({ kind: 'known' });
    expect(r.rulesetFor({ namespace: 'shop', deployment: 'cart' })?.file).toBe('fleet.yaml');
    expect(r.targetFor({ namespace: 'shop', deployment: 'cart' })).toEqual({ namespace: 'shop', deployment: 'cart', rollback: { strategy: 'previous-version-annotation' } });
    // all.yaml also matches cart, and the listed api: both stay where they were.
    expect(r.select(change('added', 'cart', 'all.yaml'))).toMatchObject({ kind: 'conflict', other: 'fleet.yaml', first: true, problem: { file: 'all.yaml', line: 2 } });
    expect(r.select(change('added', 'cart', 'all.yaml'))).toMatchObject({ kind: 'conflict', first: false });
    expect(r.select(change('added', 'api', 'all.yaml'))).toMatchObject({ kind: 'conflict', other: 'listed.yaml' });
    expect(r.rulesetFor({ namespace: 'shop', deployment: 'api' })?.file).toBe('listed.yaml');
    expect([...r.conflicts.keys()]).toEqual(['shop/cart', 'shop/api']);
    // all.yaml lets go of cart: the conflict clears, fleet.yaml keeps it; fleet.yaml lets go: nobody guards it.
    expect(r.unselect(change('removed', 'cart', 'all.yaml'))).toBe(false);
    expect(r.conflicts.has('shop/cart')).toBe(false);
    expect(r.unselect(change('removed', 'cart', 'fleet.yaml'))).toBe(true);
    expect(r.rulesetFor({ namespace: 'shop', deployment: 'cart' })).toBeUndefined();
    expect(Object.keys(r.hashes())).toEqual(['shop/api']);
  });

  it('a hot reload keeps selections by file and gives them the new rules', () => {
    const r = new TargetRegistry();
    r.set([fleet('fleet.yaml', 'shop')]);
    r.select({ kind: 'added', namespace: 'shop', deployment: 'cart', selection: 'fleet.yaml' });
    const next = fleet('fleet.yaml', 'shop');
    r.set([{ ...next, hash: 'new' }]);
    expect(r.rulesetFor({ namespace: 'shop', deployment: 'cart' })?.hash).toBe('new');
  });
});
