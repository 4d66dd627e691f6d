// The rules reference in Markdown, generated from the JSON Schema (itself generated from the zod schema), so the
// README's reference cannot drift from what the validator accepts. `rollback-guard schema --markdown` prints it.
type JsonSchema = {
  type?: string;
  const?: unknown;
  enum?: unknown[];
  default?: unknown;
  description?: string;
  properties?: Record<string, JsonSchema>;
  required?: string[];
  items?: JsonSchema;
  additionalProperties?: JsonSchema | boolean;
  anyOf?: JsonSchema[];
  pattern?: string;
};

function typeOf(s: JsonSchema): string {
  if (s.anyOf) return s.anyOf.map(typeOf).join(' or ');
  if (s.const !== undefined) return `\`${JSON.stringify(s.const)}\``;
  if (s.enum) return s.enum.map((v) => `\`${String(v)}\``).join(' \\| ');
  if (s.type === 'string' && s.pattern?.includes('(\\d+)ms')) return 'duration';
  if (s.type === 'array') return `list of ${s.items ? typeOf(s.items) : 'any'}`;
  if (s.type === 'object') {
    if (s.properties) return 'mapping';
    const each = typeof s.additionalProperties === 'object' ? typeOf(s.additionalProperties) : 'any';
    return `mapping of name to ${each}`;
  }
  return s.type ?? 'any';
}

function defaultOf(s: JsonSchema, required: boolean): string {
  if (Array.isArray(s.default)) return 'see meaning';
  if (s.default !== null && typeof s.default === 'object') return Object.keys(s.default).length ? 'per key' : 'none';
  if (s.default !== undefined) return `\`${JSON.stringify(s.default).replace(/^"|"$/g, "")}\``;
  return required ? 'required' : 'optional';
}

function rows(s: JsonSchema, path: string, out: string[][], required: boolean): void {
  if (path) out.push([`\`${path}\``, typeOf(s), defaultOf(s, required), (s.description ?? '').replace(/\|/g, '\\|')]);
  const obj = s.anyOf?.find((a) => a.type === 'object') ?? s;
  if (obj.properties) {
    for (const [k, v] of Object.entries(obj.properties)) rows(v, path ? `${path}.${k}` : k, out, obj.required?.includes(k) ?? false);
  } else if (obj.type === 'object' && typeof obj.additionalProperties === 'object') {
    rows(obj.additionalProperties, `${path}.<name>`, out, true);
  } else if (obj.type === 'array' && obj.items) {
    for (const [k, v] of Object.entries(obj.items.properties ?? {})) rows(v, `${path}[].${k}`, out, obj.items.required?.includes(k) ?? false);
  }
}

export function rulesReferenceMarkdown(schema: Record<string, unknown>): string {
  const out: string[][] = [];
  rows(schema, '', out, true);
  const lines = ['| key | type | default | meaning |', '| --- | --- | --- | --- |', ...out.map((r) => `| ${r.join(' | ')} |`)];
  return lines.join('\n');
}
