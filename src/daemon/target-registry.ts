// Which rules file guards which Deployment: those a file lists (`target:`, `targets:`), and those a fleet's
// `select:` selected at run time (reported by the watcher as they appear and disappear). One file per Deployment:
// a second file claiming one is a conflict, named at the second file's `select:`.
import { selectedTarget, type Ruleset, type Target } from '../core/ruleset.js';
import type { RulesProblem } from '../errors/rules-invalid-error.js';
import type { TargetChange } from '../ports/release-source.js';

export const targetKey = (t: { namespace: string; deployment: string }) => `${t.namespace}/${t.deployment}`;

export class TargetRegistry {
  /** Listed Deployments and their file. */
  private listed = new Map<string, Ruleset>();
  /** Every file by path (a hot reload replaces them; selections stay by path). */
  private files = new Map<string, Ruleset>();
  /** Deployments a fleet selected, and its file. */
  private readonly selected = new Map<string, string>();
  /** Deployments two files claim, with the problem that names both. */
  readonly conflicts = new Map<string, RulesProblem>();

  set(rulesets: readonly Ruleset[]): void {
    this.listed = new Map(rulesets.flatMap((r) => r.targets.map((t) => [targetKey(t), r] as const)));
    this.files = new Map(rulesets.map((r) => [r.file, r]));
  }

  get hasFleets(): boolean {
    return [...this.files.values()].some((r) => r.select !== undefined);
  }

  /** The rules in force for a Deployment: the file that lists it, or the fleet that selected it. */
  rulesetFor(t: { namespace: string; deployment: string }): Ruleset | undefined {
    const file = this.selected.get(targetKey(t));
    return this.listed.get(targetKey(t)) ?? (file !== undefined ? this.files.get(file) : undefined);
  }

  /** A guarded Deployment's settings: as listed, or its fleet's (a fleet's have no `compareTo`). */
  targetFor(t: { namespace: string; deployment: string }): Target | undefined {
    const rs = this.rulesetFor(t);
    return rs?.targets.find((x) => targetKey(x) === targetKey(t)) ?? (rs?.select ? selectedTarget(rs.select, t.namespace, t.deployment) : undefined);
  }

  /**
   * A fleet selected a Deployment: `added` (guarded by that file from now on), `known` (already), or the conflict
   * when another file guards it (it stays with that file).
   */
  select(c: TargetChange): { kind: 'added' | 'known' } | { kind: 'conflict'; problem: RulesProblem; other: string; first: boolean } {
    const target = targetKey(c);
    const other = this.listed.get(target)?.file ?? this.selected.get(target);
    if (other === c.selection) return { kind: 'known' };
    if (other !== undefined) {
      const message = `\`select:\` matches Deployment ${target}, which ${other} guards already: one rules file per Deployment (it stays with ${other}); narrow one file's \`select:\` or take it out of \`targets:\``;
      const source = this.files.get(c.selection)?.source ?? '';
      const problem = { file: c.selection, line: source.split('\n').findIndex((l) => /^select\s*:/.test(l)) + 1 || 1, column: 1, message };
      const first = !this.conflicts.has(target);
      this.conflicts.set(target, problem);
      return { kind: 'conflict', problem, other, first };
    }
    this.selected.set(target, c.selection);
    return { kind: 'added' };
  }

  /** A fleet no longer selects a Deployment: true when that fleet was what guarded it. */
  unselect(c: TargetChange): boolean {
    const target = targetKey(c);
    if (this.conflicts.get(target)?.file === c.selection) this.conflicts.delete(target);
    if (this.selected.get(target) !== c.selection) return false;
    this.selected.delete(target);
    return true;
  }

  /** Each guarded Deployment's rules hash. */
  hashes(): Record<string, string> {
    const all = [...this.listed, ...[...this.selected].map(([t, f]) => [t, this.files.get(f)] as const)];
    return Object.fromEntries(all.flatMap(([t, r]) => (r ? [[t, r.hash]] : [])));
  }

  file(path: string): Ruleset | undefined {
    return this.files.get(path);
  }
}
