/**
 * JSON.stringify turns ±Infinity and NaN into null, which would hide an infinite latency in the evidence.
 * This replacer writes them the way Prometheus does: "+Inf", "-Inf", "NaN".
 */
export function promJsonReplacer(_key: string, value: unknown): unknown {
  if (typeof value !== 'number' || Number.isFinite(value)) return value;
  if (Number.isNaN(value)) return 'NaN';
  return value > 0 ? '+Inf' : '-Inf';
}

export function toJson(value: unknown, indent?: number): string {
  return JSON.stringify(value, promJsonReplacer, indent);
}
