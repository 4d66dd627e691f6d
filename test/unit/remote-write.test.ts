import { describe, expect, it } from 'vitest';
import { encodeWriteRequest, snappyLiteral } from '../../src/adapters/prometheus/remote-write.js';

const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');

describe('remote-write encoding (the real receiver is exercised by test/integration/rule-tests.test.ts)', () => {
  it('a WriteRequest: sorted labels, a double and a millisecond varint per sample, the staleness marker bit-exact', () => {
    const body = encodeWriteRequest([{ labels: { job: 'a', __name__: 'up' }, samples: [{ t: 1_700_000_000_123, v: 1 }, { t: 1_700_000_015_123, v: 'stale' }] }]);
    // TimeSeries (field 1) > Label (1) __name__=up, Label job=a, Sample (2) value (1, fixed64) timestamp (2, varint).
    const label = (n: string, v: string) => `0a${(n.length + v.length + 4).toString(16).padStart(2, '0')}0a${n.length.toString(16).padStart(2, '0')}${Buffer.from(n).toString('hex')}12${v.length.toString(16).padStart(2, '0')}${Buffer.from(v).toString('hex')}`;
    const ts = (ms: bigint) => {
      let out = '';
      let v = ms;
      while (v >= 0x80n) {
        out += (Number(v & 0x7fn) | 0x80).toString(16).padStart(2, '0');
        v >>= 7n;
      }
      return out + Number(v).toString(16).padStart(2, '0');
    };
    const sample = (value: string, ms: bigint) => `12${(9 + 1 + ts(ms).length / 2).toString(16).padStart(2, '0')}09${value}10${ts(ms)}`;
    const inner = label('__name__', 'up') + label('job', 'a') + sample('000000000000f03f', 1_700_000_000_123n) + sample('02000000' + '0000f07f', 1_700_000_015_123n);
    expect(hex(body)).toBe(`0a${(inner.length / 2).toString(16)}${inner}`);
  });

  it('snappy: the length, then one literal (tag 0xfc and a 4-byte length - 1)', () => {
    expect(hex(snappyLiteral(Uint8Array.from([1, 2, 3])))).toBe('03fc02000000010203');
    expect(hex(snappyLiteral(new Uint8Array(300)))).toBe(`ac02fc2b010000${'00'.repeat(300)}`);
    expect(hex(snappyLiteral(new Uint8Array()))).toBe('00');
  });
});
