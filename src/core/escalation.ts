// The escalation policy (checklist 6.3): who is paged, and when, while a page stays open. Pure.
import type { EscalationStep } from './ruleset.js';

/** An open page: the level reached so far and when the page (level 1) went out. */
export interface OpenPage {
  level: number;
  pagedAt: number;
  /** Someone declined it: it stays open (resolved when its rule stops firing) but climbs the ladder no further. */
  declined?: true;
}

/** The checklist's escalation path (6.3). */
export const LEVEL_NAMES: Readonly<Record<number, string>> = { 1: 'on-call engineer', 2: 'tech lead', 3: 'engineering manager', 4: 'VP engineering' };

/** "level 2 (tech lead)". */
export function levelName(level: number): string {
  return `level ${level} (${LEVEL_NAMES[level] ?? 'unnamed'})`;
}

/** The checklist's ladder: on-call at 0 min, tech lead at 15, engineering manager at 30. */
export const CHECKLIST_LADDER: readonly EscalationStep[] = [
  { level: 1, afterMs: 0 },
  { level: 2, afterMs: 15 * 60_000 },
  { level: 3, afterMs: 30 * 60_000 },
];

/** The first level paged (the ladder's first step). */
export function firstLevel(ladder: readonly EscalationStep[]): number {
  return ladder[0]?.level ?? 1;
}

/**
 * Steps above the page's current level whose time has come at `at`, in ladder order. Several can be due at
 * once (e.g. after a long stretch with no data); each is its own escalation, so none is skipped silently.
 */
export function dueEscalations(ladder: readonly EscalationStep[], page: OpenPage, at: number): EscalationStep[] {
  if (page.declined) return [];
  return ladder.filter((step) => step.level > page.level && at - page.pagedAt >= step.afterMs);
}
