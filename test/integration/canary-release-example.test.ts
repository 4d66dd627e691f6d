// The bundled canary demo (examples/canary-release): voice-server-canary at 5 % of traffic fails 40 % of its
// requests. The shipped rules judge it on its own series and against voice-server: reverted within 2 evaluations
// after the hold. The rules as they were (service-wide queries, rules-before.yaml) see about 2.3 % and only page,
// after the 15-minute hold of error-rate-sustained. Replayed through the CLI into a real SQLite decision log.
import fs from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { parseRules } from '../../src/core/parse-rules.js';
import { cliAsync } from '../helpers/run-cli-async.js';
import { useTempDir } from '../helpers/temp-dir.js';

const tmp = useTempDir();
const RELEASE = '2026-11-21T10:00:00Z';
const STEP_MS = 15_000;

interface Replayed {
  release: { id: number; target: string };
  decisions: { at: string; action: string; rule: string | null; mode: string }[];
}

async function replay(rules: string, db: string): Promise<Replayed> {
  const r = await cliAsync(['replay', '--rules', rules, '--recording', 'examples/canary-release/recording.json', '--release-at', RELEASE, '--db', db, '--json']);
  expect(r.code, r.stderr).toBe(0);
  return JSON.parse(r.stdout) as Replayed;
}

describe('the canary demo: a canary failing 40 % at 5 % of traffic', () => {
  it('the shipped rules revert the canary within 2 evaluations after the hold; the old ones page after 15 minutes', async () => {
    const dir = tmp();
    const db = path.join(dir, 'now.db');
    const now = await replay('rules/voice-server.yaml', db);
    // The recording says which Deployment it is of: the canary, compared with voice-server.
    expect(now.release.target).toBe('voice-production/voice-server-canary');
    // The first decision acted on (the shadow availability SLO's pages are logged beside it, never sent).
    const first = now.decisions.filter((d) => d.mode !== 'shadow')[0]!;
    expect(first.action).toBe('rollback');
    const log = new Database(db, { readonly: true });
    const firstBreach = Date.parse(log.prepare(`SELECT min(at) FROM evaluations WHERE release_id = ? AND rule = ? AND verdict = 'breach'`).pluck().get(now.release.id, first.rule) as string);
    log.close();
    const hold = parseRules(fs.readFileSync('rules/voice-server.yaml', 'utf8'), 'rules/voice-server.yaml').rules.find((r) => r.name === first.rule)!.forMs;
    const after = Date.parse(first.at) - (firstBreach + hold);
    expect(after).toBeGreaterThanOrEqual(0);
    expect(after).toBeLessThanOrEqual(2 * STEP_MS);
    expect(Date.parse(first.at) - Date.parse(RELEASE)).toBeLessThan(5 * 60_000);

    const before = await replay('examples/canary-release/rules-before.yaml', path.join(dir, 'before.db'));
    expect(before.decisions.map((d) => d.action)).not.toContain('rollback');
    expect(before.decisions[0]).toMatchObject({ action: 'page', rule: 'error-rate-sustained' });
    expect(Date.parse(before.decisions[0]!.at) - Date.parse(RELEASE)).toBeGreaterThanOrEqual(15 * 60_000);
  }, 60_000);
});
