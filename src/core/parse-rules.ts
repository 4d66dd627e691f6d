// Rules text -> validated Ruleset. Pure: the caller reads the file; this turns text into rules or into a list of
// problems, each with the file, line and column, the rule, what was found and what was expected.
import { createHash } from 'node:crypto';
import { LineCounter, isMap, isScalar, parseDocument, type Document, type Node } from 'yaml';
import type { z } from 'zod';
import { RulesInvalidError, type RulesProblem } from '../errors/rules-invalid-error.js';
import { parseDuration } from './duration.js';
import { crossFieldIssues, type CrossIssue } from './rules-cross-checks.js';
import { rulesFileSchema, SEVERITIES, type RulesFile } from './rules-schema.js';
import { burnRateQuery } from './burn-rate.js';
import type { Baseline, BurnRateRule, Comparison, JudgeRule, NotificationSettings, Rule, Ruleset, SourcePosition, Target, Threshold, ThresholdRule } from './ruleset.js';

type Path = readonly PropertyKey[];

const YAML_ERRORS_SHOWN = 3;

/**
 * The largest rules file accepted: the shipped one is about 10 KiB. A bigger one is a mistake or an attack (a
 * 20 MB query took 4.5 s and 800 MB to validate), refused before it is parsed.
 */
export const MAX_RULES_BYTES = 1024 * 1024;
/** YAML aliases expanded at most this many times: a "billion laughs" file is refused, not expanded. */
const MAX_ALIASES = 100;

/** Parses and validates a rules file's text. Throws RulesInvalidError listing every problem found. */
export function parseRules(text: string, file: string): Ruleset {
  const bytes = Buffer.byteLength(text, 'utf8');
  if (bytes > MAX_RULES_BYTES) throw tooBig(file, bytes);
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, prettyErrors: false, uniqueKeys: true });
  const at = (offset: number | undefined) => {
    const pos = lineCounter.linePos(offset ?? 0);
    return { line: pos.line, column: pos.col };
  };

  if (doc.errors.length > 0) {
    // After the first syntax error the parser reports nearly every later token (hundreds of lines for one bad
    // indent): the first few say where to look; the rest are counted.
    const shown = doc.errors.slice(0, YAML_ERRORS_SHOWN).map((e): RulesProblem => ({
      file,
      ...at(e.pos[0]),
      // The parser ran out of stack: say what that means in a rules file.
      message: /call stack/i.test(e.message) ? 'YAML nested too deeply for a rules file (the parser ran out of stack); a rules file is a few levels deep' : `YAML syntax: ${e.message.replace(/ at line \d+, column \d+.*$/s, '')}`,
    }));
    const more = doc.errors.length - shown.length;
    if (more > 0) shown[shown.length - 1]!.message += ` (and ${more} more YAML errors after it, most caused by the first)`;
    throw new RulesInvalidError(file, shown);
  }

  let data: unknown;
  try {
    data = doc.toJS({ maxAliasCount: MAX_ALIASES });
  } catch (err) {
    // `yaml` refuses an alias expanded too often (ReferenceError) and overflows on deep nesting (RangeError).
    if (!(err instanceof ReferenceError || err instanceof RangeError)) throw err;
    const message = err instanceof ReferenceError ? `YAML aliases expand too much (${err.message.replace(/\.$/, '')}): a rules file needs few aliases, each used a few times` : 'YAML nested too deeply for a rules file (the parser ran out of stack); a rules file is a few levels deep';
    throw new RulesInvalidError(file, [{ file, line: 1, column: 1, message }], { cause: err });
  }
  if (data === null || data === undefined) {
    throw new RulesInvalidError(file, [{ file, line: 1, column: 1, message: 'the file is empty; expected a mapping with at least `version: 1`, `target:` and `rules:`' }]);
  }
  const result = rulesFileSchema.safeParse(data, { reportInput: true });
  const issues: (z.core.$ZodIssue | CrossIssue)[] = [...(result.error?.issues ?? []), ...crossFieldIssues(data)];
  if (issues.length > 0 || !result.success) {
    const problems = issues.flatMap((issue) => describeIssue(issue, doc, data, file, at));
    problems.sort((a, b) => a.line - b.line || a.column - b.column);
    throw new RulesInvalidError(file, problems);
  }
  const position = (path: (string | number)[]) => {
    const node = doc.getIn(path, true) as Node | undefined;
    return node?.range ? at(node.range[0]) : undefined;
  };
  return compile(result.data, text, file, position);
}

function rollbackOf(r: RulesFile['targets'] extends (infer T)[] | undefined ? T extends { rollback: infer R } ? R : never : never): Target['rollback'] {
  return r.strategy === 'previous-version-annotation' ? { strategy: r.strategy, ...(r.container ? { container: r.container } : {}) } : { strategy: 'undo' };
}

function compile(f: RulesFile, text: string, file: string, position: (path: (string | number)[]) => SourcePosition | undefined): Ruleset {
  const ms = (d: string) => parseDuration(d) ?? 0; // already validated
  const targets = (f.targets ?? (f.target ? [f.target] : [])).map((t): Target => ({
    namespace: t.namespace,
    deployment: t.deployment,
    rollback: rollbackOf(t.rollback),
    ...(t.compareTo ? { compareTo: t.compareTo } : {}),
  }));
  const intervalAt = position(['interval']);
  return {
    file,
    hash: createHash('sha256').update(text).digest('hex'),
    source: text,
    ...(targets[0] ? { target: targets[0] } : {}),
    targets,
    ...(f.select ? { select: { ...(f.select.namespace ? { namespace: f.select.namespace } : {}), matchLabels: f.select.matchLabels, rollback: rollbackOf(f.select.rollback) } } : {}),
    intervalMs: ms(f.interval),
    ...(intervalAt ? { intervalAt } : {}),
    evaluationOffsetMs: ms(f.evaluationOffset),
    recoveryMs: ms(f.recovery),
    giveUpAfterMs: ms(f.giveUpAfter),
    windowsMs: Object.fromEntries(SEVERITIES.map((s) => [s, ms(f.windows[s])])) as Ruleset['windowsMs'],
    baselines: Object.entries(f.baselines).map(([name, b]): Baseline => withPosition({ name, query: b.query }, position(['baselines', name, 'query']))),
    escalation: f.escalation.map((s) => ({ level: s.level, afterMs: ms(s.after) })),
    notifications: {
      channels: f.notifications.channels,
      postmortemDueMs: ms(f.notifications.postmortemDue),
      alsoRollBack: f.notifications.alsoRollBack,
      levels: f.notifications.levels.map((l) => ({ level: l.level, ...(l.pagerduty ? { pagerduty: l.pagerduty } : {}), ...(l.slack ? { slack: l.slack } : {}) })),
      ...(f.notifications.outageRules ? { outageRules: f.notifications.outageRules } : {}),
      templates: f.notifications.templates,
      approvers: Object.fromEntries(Object.entries(f.notifications.approvers).map(([id, a]) => [id, typeof a === 'string' ? { name: a } : { name: a.name, level: a.level }])),
      approvalLevel: f.notifications.approvalLevel,
      summary: f.notifications.summary,
      pagerdutyServer: f.notifications.pagerduty.server,
      slackApiUrl: f.notifications.slack.apiUrl,
      ...emailSettings(f.notifications.email),
    },
    rules: f.rules.flatMap((r, i) => compileRule(r, i, ms, position)),
  };
}

type RuleInput = RulesFile['rules'][number];

/** One rule as written -> the rules the engine evaluates: one, or one per window pair of an `slo:` rule. */
function compileRule(r: RuleInput, i: number, ms: (d: string) => number, position: (path: (string | number)[]) => SourcePosition | undefined): Rule[] {
  const base = { name: r.name, tier: r.tier, forMs: ms(r.for), noData: r.noData, mode: r.mode, ...(r.description !== undefined ? { description: r.description } : {}) };
  if (r.when) {
    const side: Comparison = r.when.above !== undefined ? 'above' : 'below';
    Object.assign(base, { when: withPosition({ query: r.when.query, comparison: side, bound: r.when[side]! }, position(['rules', i, 'when', 'query'])) });
  }
  if (r.slo) {
    const slo = r.slo;
    const parts = { total: slo.total, ...(slo.errors !== undefined ? { errors: slo.errors } : { good: slo.good! }) };
    return slo.windows.map((w, j): BurnRateRule =>
      withPosition(
        {
          ...base,
          kind: 'burn-rate',
          name: `${r.name}:${w.long}-${w.short}`,
          group: r.name,
          tier: w.tier ?? (j === 0 ? r.tier : 'considered'),
          query: burnRateQuery(parts, w.long, slo.objective),
          shortQuery: burnRateQuery(parts, w.short, slo.objective),
          comparison: 'above',
          threshold: { kind: 'static', value: w.burnRate },
          slo: { objective: slo.objective, periodMs: ms(slo.period), burnRate: w.burnRate, long: w.long, longMs: ms(w.long), short: w.short, shortMs: ms(w.short) },
        },
        position(['rules', i, 'slo', 'windows', j]) ?? position(['rules', i, 'slo']),
      ),
    );
  }
  if (r.judge) {
    const j = r.judge;
    const rule: JudgeRule = withPosition(
      {
        ...base,
        kind: 'judge',
        judge: {
          windowMs: ms(j.window),
          stepMs: ms(j.step),
          tolerance: j.tolerance,
          confidence: j.confidence,
          pass: j.pass,
          marginal: j.marginal,
          metrics: j.metrics.map((m, k) => withPosition({ name: m.name, query: m.query, direction: m.direction, critical: m.critical, mustHaveData: m.mustHaveData, allowedIncrease: m.allowedIncrease, allowedDecrease: m.allowedDecrease, criticalIncrease: m.criticalIncrease, criticalDecrease: m.criticalDecrease, nanStrategy: m.nanStrategy }, position(['rules', i, 'judge', 'metrics', k, 'query']))),
        },
      },
      position(['rules', i, 'judge']),
    );
    return [rule];
  }
  const comparison = r.above !== undefined ? 'above' : 'below';
  const t = r[comparison]!;
  const threshold: Threshold = typeof t === 'number' ? { kind: 'static', value: t } : 'stable' in t ? { kind: 'stable', factor: t.factor, plus: t.plus } : { kind: 'baseline', baseline: t.baseline, factor: t.factor };
  return [withPosition({ ...base, query: r.query!, comparison, threshold } satisfies ThresholdRule, position(['rules', i, 'query']))];
}

const SMTP_PORTS = { starttls: 587, implicit: 465, none: 25 } as const;

function emailSettings(e: RulesFile['notifications']['email']): Pick<NotificationSettings, 'email'> {
  // The cross-checks require `to`, `from` and `smtp` together, or none of them.
  if (!e.to.length || !e.from || !e.smtp) return {};
  return { email: { to: e.to, from: e.from, smtp: { host: e.smtp.host, port: e.smtp.port ?? SMTP_PORTS[e.smtp.tls], tls: e.smtp.tls } } };
}

function withPosition<T extends object>(o: T, at: SourcePosition | undefined): T & { queryAt?: SourcePosition } {
  return at ? { ...o, queryAt: at } : o;
}

function describeIssue(
  issue: z.core.$ZodIssue | CrossIssue,
  doc: Document,
  data: unknown,
  file: string,
  at: (offset: number | undefined) => { line: number; column: number },
): RulesProblem[] {
  const path = issue.path;
  const rule = ruleNameAt(data, path);
  const base = { file, ...(rule !== undefined ? { rule } : {}) };
  const where = describePath(path);

  if (!('code' in issue)) {
    const { node } = nearestNode(doc, path);
    return [{ ...base, ...at(rangeStart(node)), message: issue.message }];
  }
  if (issue.code === 'unrecognized_keys') {
    const parent = doc.getIn(path, true);
    const allowed = allowedKeys(path);
    return issue.keys.map((key) => {
      let offset = rangeStart(parent);
      if (isMap(parent)) {
        const pair = parent.items.find((p) => isScalar(p.key) && p.key.value === key);
        if (pair && isScalar(pair.key)) offset = pair.key.range?.[0];
      }
      return {
        ...base,
        ...at(offset),
        message: `unknown key "${key}"${path.length ? ` in ${where}` : ' at the top level'}${allowed.length ? `; expected one of: ${allowed.join(', ')}` : ''}`,
      };
    });
  }

  const { node, missing } = nearestNode(doc, path);
  const found = 'input' in issue ? describeValue(issue.input) : 'nothing';
  let message: string;
  switch (issue.code) {
    case 'invalid_type':
      message = missing ? `${where} is missing; expected ${article(issue.expected)}` : `${where}: expected ${article(issue.expected)}, found ${found}`;
      break;
    case 'invalid_value':
      message = `${where}: expected ${issue.values.map((v) => JSON.stringify(v)).join(' or ')}, found ${found}`;
      break;
    case 'invalid_union':
      message = `${where} ${issue.message}, found ${found}`;
      break;
    default:
      message = `${where} ${issue.message}${'input' in issue && issue.input !== undefined ? `, found ${found}` : ''}`;
  }
  return [{ ...base, ...at(rangeStart(node)), message }];
}

function article(expected: string): string {
  const names: Record<string, string> = { object: 'a mapping', array: 'a list', string: 'a string', number: 'a number', boolean: 'true or false' };
  return names[expected] ?? expected;
}

function rangeStart(node: unknown): number | undefined {
  return (node as Node | undefined)?.range?.[0];
}

/** The node at `path`, or its nearest ancestor that exists (for a missing key, the map it belongs in). */
function nearestNode(doc: Document, path: Path): { node: unknown; missing: boolean } {
  for (let n = path.length; n >= 0; n--) {
    const node = n === 0 ? doc.contents : doc.getIn(path.slice(0, n), true);
    if (node !== undefined && node !== null) return { node, missing: n < path.length };
  }
  return { node: undefined, missing: true };
}

function ruleNameAt(data: unknown, path: Path): string | undefined {
  if (path[0] !== 'rules' || typeof path[1] !== 'number') return undefined;
  const rules = (data as { rules?: unknown } | null)?.rules;
  const rule = Array.isArray(rules) ? (rules[path[1]] as { name?: unknown } | undefined) : undefined;
  return typeof rule?.name === 'string' ? rule.name : `#${path[1] + 1}`;
}

function describePath(path: Path): string {
  if (path.length === 0) return 'the file';
  // Inside a rule the rule is already named; say the key relative to it.
  const rel = path[0] === 'rules' && typeof path[1] === 'number' ? path.slice(2) : path;
  if (rel.length === 0) return 'the rule';
  return '`' + rel.map((p, i) => (typeof p === 'number' ? `[${p}]` : `${i ? '.' : ''}${String(p)}`)).join('') + '`';
}

function describeValue(v: unknown): string {
  if (v === undefined) return 'nothing';
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'a list';
  if (typeof v === 'object') return 'a mapping';
  // JSON has no spelling for these and would print null; say them as YAML wrote them.
  if (typeof v === 'number' && !Number.isFinite(v)) return `${Number.isNaN(v) ? '.nan' : v > 0 ? '.inf' : '-.inf'} (not a finite number)`;
  const s = JSON.stringify(v);
  return `${typeof v} ${s.length > 60 ? s.slice(0, 57) + '...' : s}`;
}

/** Keys the format accepts at `path`, read from the schema so the message cannot drift from it. */
function allowedKeys(path: Path): string[] {
  let schema: z.core.$ZodType | undefined = rulesFileSchema;
  const unwrap = (s: z.core.$ZodType): z.core.$ZodType => {
    const def = s._zod.def as { type: string; innerType?: z.core.$ZodType; in?: z.core.$ZodType; options?: z.core.$ZodType[] };
    if (def.innerType) return unwrap(def.innerType);
    if (def.type === 'pipe' && def.in) return unwrap(def.in);
    return s;
  };
  const objectOf = (s: z.core.$ZodType): z.core.$ZodType | undefined => {
    const u = unwrap(s);
    const def = u._zod.def as { type: string; options?: z.core.$ZodType[] };
    if (def.type === 'union') return def.options?.map(objectOf).find((o) => o !== undefined);
    return def.type === 'object' ? u : undefined;
  };
  for (const seg of path) {
    if (!schema) return [];
    const u = unwrap(schema);
    const def = u._zod.def as { type: string; element?: z.core.$ZodType; valueType?: z.core.$ZodType; shape?: Record<string, z.core.$ZodType>; options?: z.core.$ZodType[] };
    if (def.type === 'array') schema = def.element;
    else if (def.type === 'record') schema = def.valueType;
    else {
      const obj = objectOf(u);
      schema = obj ? (obj._zod.def as unknown as { shape: Record<string, z.core.$ZodType> }).shape[String(seg)] : undefined;
    }
  }
  const obj = schema ? objectOf(schema) : undefined;
  return obj ? Object.keys((obj._zod.def as unknown as { shape: Record<string, z.core.$ZodType> }).shape) : [];
}

/** A rules file over MAX_RULES_BYTES, refused as a rules problem (file:1:1). */
export function tooBig(file: string, bytes: number): RulesInvalidError {
  return new RulesInvalidError(file, [{ file, line: 1, column: 1, message: `the file is ${(bytes / 1024 / 1024).toFixed(1)} MiB; a rules file may be at most ${MAX_RULES_BYTES / 1024 / 1024} MiB (split a large fleet into several files)` }]);
}
