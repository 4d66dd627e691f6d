import { expect, it } from 'vitest';
import { renderChart, type ChartPoint } from '../../src/cli/incident/svg-chart.js';

const T0 = Date.parse('2026-11-20T14:00:00Z');
const segments = (svg: string, series: string) => (new RegExp(`data-series="${series}" d="([^"]*)"`).exec(svg)?.[1] ?? '').split(/[ML]/).filter(Boolean);

it('a 24-hour release at 15 s is drawn with a few points per pixel column, keeping its peaks', () => {
  const points: ChartPoint[] = Array.from({ length: 5760 }, (_, i) => ({ t: T0 + i * 15_000, value: i === 3000 ? 10 : i === 4000 ? -5 : Math.sin(i / 50), threshold: 2, state: 'inactive' }));
  const svg = renderChart('r', points, [], T0, T0 + 5759 * 15_000);
  const value = segments(svg, 'value');
  expect(value.length).toBeLessThan(4 * 820 + 4);
  expect(value.length).toBeGreaterThan(820);
  const ys = value.map((p) => Number(p.split(' ')[1]));
  // the single spike and the single dip survive: the top and bottom of the plot are both reached
  expect(Math.min(...ys)).toBeCloseTo(14 + (1 - (10 - -5) / (10 - -5 + 15 * 0.08)) * 150, 0);
  expect(Math.max(...ys)).toBe(164);
});

it('a gap (no value) breaks the line, and ±Inf sit on the edge of the plot', () => {
  const points: ChartPoint[] = [1, null, 2, Number.POSITIVE_INFINITY].map((v, i) => ({ t: T0 + i * 15_000, value: v, threshold: 1.5, state: i === 3 ? 'firing' : 'inactive' }));
  const svg = renderChart('r', points, [{ t: T0 + 45_000, kind: 'decision', label: '#1 rollback', id: 1, action: 'rollback' }], T0, T0 + 45_000);
  const d = /data-series="value" d="([^"]*)"/.exec(svg)![1]!;
  expect(d.match(/M/g)).toHaveLength(2);
  expect(d.endsWith(' 14')).toBe(true); // +Inf at the plot's top edge
  expect(svg.match(/class="span firing"/g)).toHaveLength(1);
  expect(svg).toMatch(/<g class="marker decision rollback" data-marker="decision" data-decision-id="1">/);
});
