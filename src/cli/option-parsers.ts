// Parsers for command-line values; each failure is a UsageError that names the option and shows a good value.
import { parseDuration } from '../core/duration.js';
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
