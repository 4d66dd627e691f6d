import { describe, expect, it } from 'vitest';
import { expandValues } from '../../src/core/series-notation.js';

// promtool's documented examples (docs/configuration/unit_testing_rules.md), and the edges.
describe("expanding notation, as promtool's input_series", () => {
  it.each<[string, (number | null | 'stale')[]]>([
    ['-2+4x3', [-2, 2, 6, 10]],
    [' 1-2x4', [1, -1, -3, -5, -7]],
    [' 1x4', [1, 1, 1, 1, 1]],
    ['1 _x3 5', [1, null, null, null, 5]],
    ['0+10x2 _ 100', [0, 10, 20, null, 100]],
    ['1.5e3 .5 -0.25+0.25x1', [1500, 0.5, -0.25, 0]],
    ['NaN Inf -Inf', [Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY]],
    [' 1 _x3 stale', [1, null, null, null, 'stale']],
    ['', []],
  ])('%j', (text, values) => {
    expect(expandValues(text)).toEqual(values);
  });

  it.each([
    ['1+', /"1\+" is not a value/],
    ['abc', /"abc" is not a value/],
    ['1x', /"1x" is not a value/],
  ])('refuses %j', (text, message) => {
    expect(() => expandValues(text)).toThrow(message);
  });
});
