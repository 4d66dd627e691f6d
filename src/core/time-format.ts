/** RFC 3339 UTC with seconds, milliseconds only when present: 2026-11-20T14:00:00Z. */
export function toRfc3339(ms: number): string {
  const iso = new Date(ms).toISOString();
  return iso.endsWith('.000Z') ? iso.slice(0, -5) + 'Z' : iso;
}
