// Rule unit tests (`rollback-guard test FILE...`), like `promtool test rules`: a YAML file names a rules file and,
// per test, input series in Prometheus's expanding notation, a release, and the decisions expected. The series
// are written to a throwaway Prometheus; times are offsets from the series' time 0.
import fs from 'node:fs';
import path from 'node:path';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { parseDuration } from '../core/duration.js';
import { SEVERITIES } from '../core/rules-schema.js';
import { expandValues } from '../core/series-notation.js';
import type { WriteSeries } from '../adapters/prometheus/remote-write.js';
import { UsageError } from '../errors/usage-error.js';

const duration = z.string().refine((d) => parseDuration(d) !== undefined, { error: 'must be a duration like 90s, 15m or 1h' });

const testSchema = z.strictObject({
  name: z.string().min(1),
  /** NAMESPACE/NAME; default the rules file's first target. */
  target: z.string().regex(/^[^/\s]+\/[^/\s]+$/, { error: 'must be NAMESPACE/NAME' }).optional(),
  /** The Deployment's pod selector, for rules that use {{selector}}. */
  selector: z.record(z.string(), z.string()).optional(),
  /** The step of the input series (default: the rules file's interval). */
  interval: duration.optional(),
  release: z.strictObject({ at: duration, severity: z.enum(SEVERITIES).default('minor') }),
  /** Last instant judged (default: the release's guard window end). */
  until: duration.optional(),
  series: z.array(z.strictObject({ series: z.string().min(1), values: z.string() })).min(1),
  expect: z.array(
    z.strictObject({
      action: z.enum(['rollback', 'page', 'escalate', 'resolve', 'promote']),
      rule: z.string().nullable().optional(),
      at: duration,
      level: z.number().int().optional(),
    }),
  ),
});

const fileSchema = z.strictObject({
  /** The rules file, relative to this file. */
  rules: z.string().min(1),
  tests: z.array(testSchema).min(1),
});

export type RuleTest = z.output<typeof testSchema>;

export interface RuleTestFile {
  file: string;
  rulesFile: string;
  tests: RuleTest[];
}

export function loadRuleTests(file: string): RuleTestFile {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (err) {
    throw new UsageError(`${file}: ${(err as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such test file' : (err as Error).message}`);
  }
  let data: unknown;
  try {
    data = parseYaml(text);
  } catch (err) {
    throw new UsageError(`${file}: not valid YAML: ${(err as Error).message}`);
  }
  const parsed = fileSchema.safeParse(data);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    const where = issue.path.map((p) => (typeof p === 'number' ? `[${p}]` : `.${String(p)}`)).join('').replace(/^\./, '') || 'top level';
    throw new UsageError(`${file}: ${where}: ${issue.message}`);
  }
  for (const [i, t] of parsed.data.tests.entries()) {
    for (const [j, s] of t.series.entries()) {
      try {
        expandValues(s.values);
        seriesLabels(s.series);
      } catch (err) {
        throw new UsageError(`${file}: tests[${i}].series[${j}] (test "${t.name}"): ${(err as Error).message}`);
      }
    }
  }
  return { file, rulesFile: path.resolve(path.dirname(file), parsed.data.rules), tests: parsed.data.tests };
}

/** `name{a="1", b="2"}` as its labels, the name as `__name__`. */
function seriesLabels(series: string): Record<string, string> {
  const m = /^\s*([a-zA-Z_:][a-zA-Z0-9_:]*)\s*(?:\{(.*)\})?\s*$/.exec(series);
  const bad = () => new Error(`${JSON.stringify(series)} is not a series: write it like metric_name{label="value", ...}`);
  if (!m) throw bad();
  const labels: Record<string, string> = { __name__: m[1]! };
  let rest = m[2] ?? '';
  const label = /^\s*([a-zA-Z_][a-zA-Z0-9_]*)\s*=\s*"((?:[^"\\]|\\.)*)"\s*(,|$)/;
  while (rest.trim() !== '') {
    const l = label.exec(rest);
    if (!l) throw bad();
    labels[l[1]!] = l[2]!.replace(/\\(.)/g, (_c, x: string) => (x === 'n' ? '\n' : x));
    rest = rest.slice(l[0].length);
  }
  return labels;
}

/** The test's series for remote write: sample i at `base + i * stepMs`, missing samples left out. */
export function testSeries(t: RuleTest, base: number, stepMs: number): WriteSeries[] {
  return t.series.map((s) => ({
    labels: seriesLabels(s.series),
    samples: expandValues(s.values).flatMap((v, i) => (v === null ? [] : [{ t: base + i * stepMs, v }])),
  }));
}

/** How long the test's series last (Unix ms from time 0). */
export function seriesSpan(t: RuleTest, stepMs: number): number {
  return Math.max(0, ...t.series.map((s) => expandValues(s.values).length - 1)) * stepMs;
}
