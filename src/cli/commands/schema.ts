import type { Command } from 'commander';
import { z } from 'zod';
import { rulesFileSchema } from '../../core/rules-schema.js';
import type { Io } from '../io.js';
import { rulesReferenceMarkdown } from '../rules-reference.js';

export function rulesJsonSchema(): Record<string, unknown> {
  return {
    ...z.toJSONSchema(rulesFileSchema, { io: 'input', unrepresentable: 'any' }),
    $id: 'https://rollback-guard.io/schemas/rules-v1.json',
    title: 'rollback-guard rules file (version 1)',
  };
}

/** `schema`: print the rules format as JSON Schema, for editors (e.g. yaml-language-server). */
export function registerSchema(program: Command, io: Io): void {
  program
    .command('schema')
    .description('print the JSON Schema of the rules file format (for editor completion and validation)')
    .option('--markdown', 'print the rules reference as a Markdown table instead (the README embeds it)')
    .action((flags: { markdown?: boolean }) => {
      io.out(flags.markdown ? rulesReferenceMarkdown(rulesJsonSchema()) : JSON.stringify(rulesJsonSchema(), null, 2));
    });
}
