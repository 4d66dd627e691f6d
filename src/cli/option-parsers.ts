// Parsers for command-line values; each failure is a UsageError that names the option and shows a good value.
import { bindRuleset, type BoundTarget } from '../core/bind-ruleset.js';
import { parseDuration } from '../core/duration.js';
import type { Ruleset } from '../core/ruleset.js';
import { SEVERITIES, type Severity } from '../core/severity.js';
import { UsageError } from '../errors/usage-error.js';

const RFC3339 = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(?:\.\d+)?(?:Z|[+-](\d{2}):(\d{2}))$/i;

export function parseTime(option: string, text: string): number {
  const m = RFC3339.exec(text);
  const ms = m ? Date.parse(text) : Number.NaN;
  if (Number.isNaN(ms)) throw new UsageError(`${option} ${JSON.stringify(text)} is not an RFC 3339 time; write it like 2026-11-20T14:00:00Z`);
  // Date.parse rolls an impossible date over (February 30th becomes March 2nd): refuse it instead.
  const [year, month, day, hour, minute, second, offHour, offMinute] = m!.slice(1).map((p) => (p === undefined ? 0 : Number(p)));
  const daysInMonth = new Date(Date.UTC(year!, month, 0)).getUTCDate();
  const badDay = month! >= 1 && month! <= 12 && (day! < 1 || day! > daysInMonth) ? ` (${year}-${m![2]} has ${daysInMonth} days)` : '';
  if (badDay || month! < 1 || month! > 12 || hour! > 23 || minute! > 59 || second! > 59 || offHour! > 23 || offMinute! > 59) {
    throw new UsageError(`${option} ${JSON.stringify(text)} is not a real date and time${badDay}; write it like 2026-11-20T14:00:00Z`);
  }
  return ms;
}

export function parseSeverity(text: string): Severity {
  if ((SEVERITIES as readonly string[]).includes(text)) return text as Severity;
  throw new UsageError(`--severity ${JSON.stringify(text)} is not a release severity; use one of ${SEVERITIES.join(', ')}`);
}

export function parseDurationOption(option: string, text: string): number {
  const ms = parseDuration(text);
  if (ms === undefined || ms <= 0) throw new UsageError(`${option} ${JSON.stringify(text)} is not a positive duration; write it like 15s, 30m or 1h`);
  return ms;
}

/** `--selector app=voice-server,track=canary`: a Deployment's matchLabels, for per-target queries. */
export function parseSelector(text: string, option = '--selector'): Record<string, string> {
  const out: Record<string, string> = {};
  for (const part of text.split(',')) {
    const i = part.indexOf('=');
    const k = part.slice(0, i).trim();
    if (i <= 0 || !k) throw new UsageError(`${option} ${JSON.stringify(text)}: ${JSON.stringify(part)} is not key=value; write it like app=voice-server,track=canary`);
    out[k] = part.slice(i + 1).trim();
  }
  return out;
}

/** `--target NS/NAME` for a fleet file: any Deployment its `select:` could choose (its namespace, if it names one). */
function selectedOption(ruleset: Ruleset, text: string): { namespace: string; deployment: string } {
  const m = /^([^/\s]+)\/([^/\s]+)$/.exec(text);
  if (!m) throw new UsageError(`--target ${JSON.stringify(text)} is not NAMESPACE/NAME; write it like voice-production/voice-server`);
  const ns = ruleset.select?.namespace;
  if (ns !== undefined && m[1] !== ns) throw new UsageError(`--target ${text} is not in namespace ${ns}, the only one ${ruleset.file} selects Deployments in`);
  return { namespace: m[1]!, deployment: m[2]! };
}

/**
 * The target a command evaluates a rules file for: `--target NAMESPACE/DEPLOYMENT` (one of the file's targets;
 * default its first) with `--selector` for {{selector}}, bound into the ruleset (TargetBindingError, exit 2, when a
 * query needs a selector that was not given).
 */
export function targetOption(ruleset: Ruleset, flags: { target?: string; selector?: string; stableSelector?: string }, given?: BoundTarget): { target: BoundTarget; bound: Ruleset } {
  let chosen: { namespace: string; deployment: string; selector?: Readonly<Record<string, string>>; stable?: BoundTarget['stable'] } | undefined = given ?? ruleset.target;
  if (flags.target !== undefined) {
    if (ruleset.select) chosen = selectedOption(ruleset, flags.target);
    else {
      const t = ruleset.targets.find((x) => `${x.namespace}/${x.deployment}` === flags.target);
      if (!t) throw new UsageError(`--target ${flags.target} is not guarded by ${ruleset.file}; its targets: ${ruleset.targets.map((x) => `${x.namespace}/${x.deployment}`).join(', ')}`);
      chosen = t;
    }
  }
  if (!chosen) throw new UsageError(`${ruleset.file} selects its Deployments by label (\`select:\`): name the one to evaluate with --target NAMESPACE/NAME`);
  // A canary's stable Deployment: as recorded, else its `compareTo` in the file, with --stable-selector.
  const compareTo = ruleset.targets.find((x) => x.namespace === chosen.namespace && x.deployment === chosen.deployment)?.compareTo;
  const stable = chosen.stable ?? (compareTo ? { namespace: chosen.namespace, deployment: compareTo } : undefined);
  const target: BoundTarget = {
    namespace: chosen.namespace,
    deployment: chosen.deployment,
    ...(flags.selector !== undefined ? { selector: parseSelector(flags.selector) } : chosen.selector ? { selector: chosen.selector } : {}),
    ...(stable ? { stable: { ...stable, ...(flags.stableSelector !== undefined ? { selector: parseSelector(flags.stableSelector, '--stable-selector') } : {}) } } : {}),
  };
  return { target, bound: bindRuleset(ruleset, target) };
}
