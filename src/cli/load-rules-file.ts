import fs from 'node:fs';
import { MAX_RULES_BYTES, parseRules, tooBig } from '../core/parse-rules.js';
import type { Ruleset } from '../core/ruleset.js';
import { RulesInvalidError } from '../errors/rules-invalid-error.js';

/** Reads and validates a rules file; a missing or unreadable file is reported like any other rules problem. */
export function loadRulesFile(file: string): Ruleset {
  let text: string;
  try {
    // Refused before it is read: a huge file is never loaded into memory.
    const size = fs.statSync(file).size;
    if (size > MAX_RULES_BYTES) throw tooBig(file, size);
    text = fs.readFileSync(file, 'utf8');
  } catch (err) {
    if (err instanceof RulesInvalidError) throw err;
    const code = (err as { code?: string }).code;
    const what = code === 'ENOENT' ? 'the file does not exist' : code === 'EISDIR' ? 'it is a directory, not a file' : (err as Error).message;
    throw new RulesInvalidError(file, [{ file, line: 1, column: 1, message: `cannot read the rules file: ${what}` }], { cause: err });
  }
  return parseRules(text, file);
}
