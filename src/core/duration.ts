// Prometheus's duration syntax (model.ParseDuration): units in descending order, each at most once, e.g.
// `90s`, `1h30m`, `0s`. Hand-written because no maintained JS library parses exactly this grammar, and a rules
// file that Prometheus users write must mean the same here as in their alerting rules.
const DURATION_RE = /^(?:(\d+)y)?(?:(\d+)w)?(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?(?:(\d+)ms)?$/;
const UNIT_MS = [365 * 86_400_000, 7 * 86_400_000, 86_400_000, 3_600_000, 60_000, 1000, 1] as const;

export const DURATION_PATTERN = DURATION_RE.source;

/** Milliseconds of a Prometheus duration string, or undefined when it is not one. */
export function parseDuration(text: string): number | undefined {
  if (text === '' ) return undefined;
  const m = DURATION_RE.exec(text);
  if (!m) return undefined;
  let ms = 0;
  for (let i = 0; i < UNIT_MS.length; i++) {
    const part = m[i + 1];
    if (part !== undefined) ms += Number(part) * UNIT_MS[i]!;
  }
  return Number.isSafeInteger(ms) ? ms : undefined;
}

/** The shortest Prometheus-style rendering of a duration, e.g. 5_400_000 -> `1h30m`. */
export function formatDuration(ms: number): string {
  if (ms === 0) return '0s';
  const sign = ms < 0 ? '-' : '';
  let rest = Math.abs(Math.round(ms));
  const parts: string[] = [];
  const units: [string, number][] = [['d', 86_400_000], ['h', 3_600_000], ['m', 60_000], ['s', 1000], ['ms', 1]];
  for (const [unit, size] of units) {
    if (rest >= size) {
      parts.push(`${Math.floor(rest / size)}${unit}`);
      rest %= size;
    }
  }
  return sign + parts.join('');
}
