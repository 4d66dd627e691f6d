// Prometheus's remote-write protocol (version 0.1.0), just enough to load test series into a throwaway Prometheus
// (`--web.enable-remote-write-receiver`): a `WriteRequest` in protobuf, snappy-framed. Unlike a promtool backfill it
// carries staleness markers (the StaleNaN bit pattern), so `stale` in a test means what it means to Prometheus.
// Protobuf and snappy are written out here rather than taken from a library: the messages are three flat ones,
// and a snappy block of one literal is valid snappy that any decoder reads (docs/adr/0017).

export interface WriteSeries {
  /** Including `__name__`. */
  labels: Record<string, string>;
  /** In time order; `stale` writes a staleness marker. */
  samples: { t: number; v: number | 'stale' }[];
}

/** Prometheus's staleness marker: a NaN with this exact bit pattern (value.StaleNaN). */
const STALE_NAN_HIGH = 0x7ff00000;
const STALE_NAN_LOW = 0x00000002;

class Writer {
  private readonly parts: Uint8Array[] = [];
  private size = 0;

  bytes(b: Uint8Array): this {
    this.parts.push(b);
    this.size += b.length;
    return this;
  }

  varint(n: bigint): this {
    const out: number[] = [];
    let v = BigInt.asUintN(64, n);
    while (v >= 0x80n) {
      out.push(Number(v & 0x7fn) | 0x80);
      v >>= 7n;
    }
    out.push(Number(v));
    return this.bytes(Uint8Array.from(out));
  }

  tag(field: number, wire: number): this {
    return this.varint(BigInt((field << 3) | wire));
  }

  /** A length-delimited field. */
  field(field: number, body: Uint8Array): this {
    return this.tag(field, 2).varint(BigInt(body.length)).bytes(body);
  }

  double(field: number, v: number | 'stale'): this {
    const b = new Uint8Array(8);
    const view = new DataView(b.buffer);
    if (v === 'stale') {
      // Little-endian, written as two words so the NaN payload survives (a float64 store may canonicalize it).
      view.setUint32(0, STALE_NAN_LOW, true);
      view.setUint32(4, STALE_NAN_HIGH, true);
    } else view.setFloat64(0, v, true);
    return this.tag(field, 1).bytes(b);
  }

  done(): Uint8Array {
    const out = new Uint8Array(this.size);
    let at = 0;
    for (const p of this.parts) {
      out.set(p, at);
      at += p.length;
    }
    return out;
  }
}

const utf8 = (s: string) => new TextEncoder().encode(s);

/** WriteRequest { repeated TimeSeries timeseries = 1 }; TimeSeries { Label labels = 1; Sample samples = 2 }. */
export function encodeWriteRequest(series: readonly WriteSeries[]): Uint8Array {
  const req = new Writer();
  for (const s of series) {
    const ts = new Writer();
    // Labels sorted by name, as Prometheus expects them.
    for (const [name, value] of Object.entries(s.labels).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
      ts.field(1, new Writer().field(1, utf8(name)).field(2, utf8(value)).done());
    }
    for (const { t, v } of s.samples) ts.field(2, new Writer().double(1, v).tag(2, 0).varint(BigInt(Math.round(t))).done());
    req.field(1, ts.done());
  }
  return req.done();
}

/** A snappy block holding `data` as one literal: valid snappy, uncompressed. */
export function snappyLiteral(data: Uint8Array): Uint8Array {
  const head = new Writer().varint(BigInt(data.length));
  if (data.length === 0) return head.done();
  const n = data.length - 1;
  // Tag 63<<2: the literal's length - 1 follows in 4 little-endian bytes.
  return head.bytes(Uint8Array.from([63 << 2, n & 0xff, (n >>> 8) & 0xff, (n >>> 16) & 0xff, (n >>> 24) & 0xff])).bytes(data).done();
}

/**
 * Writes `series` to a Prometheus remote-write receiver in windows of `windowMs`, oldest first: its head accepts a
 * sample only within an hour of the newest it holds, so every series advances together.
 */
export async function remoteWrite(url: string, series: readonly WriteSeries[], windowMs = 30 * 60_000): Promise<void> {
  const times = series.flatMap((s) => s.samples.map((x) => x.t));
  if (times.length === 0) return;
  const first = Math.min(...times);
  const last = Math.max(...times);
  for (let from = first; from <= last; from += windowMs) {
    const batch = series.map((s) => ({ labels: s.labels, samples: s.samples.filter((x) => x.t >= from && x.t < from + windowMs) })).filter((s) => s.samples.length);
    const res = await fetch(`${url.replace(/\/$/, '')}/api/v1/write`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/x-protobuf', 'Content-Encoding': 'snappy', 'X-Prometheus-Remote-Write-Version': '0.1.0' },
      body: snappyLiteral(encodeWriteRequest(batch)),
    });
    if (!res.ok) throw new Error(`Prometheus refused the test series (HTTP ${res.status}): ${(await res.text()).trim()}`);
  }
}
