// One rule's chart for the HTML report, as inline SVG text: value and threshold over the release, pending and
// firing spans shaded, decision and notification markers. Hand-written (a few dozen lines) so the report has no
// script and no chart library: it prints, works offline and opens with no console errors. Colours come from
// CSS classes, so the page's light, dark and print styles apply.
import { formatValue } from '../format.js';

export interface ChartPoint {
  t: number;
  value: number | null;
  threshold: number | null;
  state: string;
}

export interface ChartMarker {
  t: number;
  kind: 'decision' | 'notification';
  label: string;
  id?: number;
  action?: string;
}

const W = 900;
const H = 190;
const M = { l: 64, r: 16, t: 14, b: 26 };

export const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
const n = (v: number) => (Math.round(v * 10) / 10).toString();

/** Keeps the first, min, max and last point of each pixel column: the shape survives, the SVG stays small. */
function downsample(points: readonly ChartPoint[], t0: number, t1: number, columns: number): ChartPoint[] {
  if (points.length <= columns * 2) return [...points];
  const out: ChartPoint[] = [];
  let bucket: ChartPoint[] = [];
  let col = -1;
  const flush = () => {
    if (!bucket.length) return;
    const finite = bucket.filter((p) => p.value !== null);
    const keep = new Set<ChartPoint>([bucket[0]!, bucket[bucket.length - 1]!]);
    if (finite.length) {
      keep.add(finite.reduce((a, b) => (b.value! < a.value! ? b : a)));
      keep.add(finite.reduce((a, b) => (b.value! > a.value! ? b : a)));
    }
    out.push(...bucket.filter((p) => keep.has(p)));
    bucket = [];
  };
  for (const p of points) {
    const c = Math.floor(((p.t - t0) / Math.max(1, t1 - t0)) * columns);
    if (c !== col) {
      flush();
      col = c;
    }
    bucket.push(p);
  }
  flush();
  return out;
}

export function renderChart(title: string, points: readonly ChartPoint[], markers: readonly ChartMarker[], t0: number, t1: number): string {
  const span = Math.max(1, t1 - t0);
  const x = (t: number) => M.l + ((t - t0) / span) * (W - M.l - M.r);
  const finite = points.flatMap((p) => [p.value, p.threshold]).filter((v): v is number => v !== null && Number.isFinite(v));
  const lo = Math.min(0, ...finite);
  let hi = finite.length ? Math.max(...finite) : 1;
  if (hi <= lo) hi = lo + 1;
  hi += (hi - lo) * 0.08;
  const y = (v: number) => {
    const c = Math.min(hi, Math.max(lo, v)); // ±Inf sit on the chart's edge
    return M.t + (1 - (c - lo) / (hi - lo)) * (H - M.t - M.b);
  };
  const parts: string[] = [];
  // Pending / firing spans: from each evaluation in that state to the next evaluation.
  for (let i = 0; i < points.length; i++) {
    const p = points[i]!;
    if (p.state !== 'pending' && p.state !== 'firing') continue;
    let j = i;
    while (j + 1 < points.length && points[j + 1]!.state === p.state) j++;
    const end = points[j + 1]?.t ?? points[j]!.t;
    parts.push(`<rect class="span ${p.state}" data-state="${p.state}" x="${n(x(p.t))}" y="${M.t}" width="${n(Math.max(1, x(end) - x(p.t)))}" height="${H - M.t - M.b}"><title>${p.state} ${new Date(p.t).toISOString()} to ${new Date(end).toISOString()}</title></rect>`);
    i = j;
  }
  // Axes: four value gridlines, six time ticks.
  for (let k = 0; k <= 3; k++) {
    const v = lo + ((hi - lo) * k) / 3;
    parts.push(`<line class="grid" x1="${M.l}" x2="${W - M.r}" y1="${n(y(v))}" y2="${n(y(v))}"/><text class="tick" x="${M.l - 6}" y="${n(y(v) + 4)}" text-anchor="end">${esc(formatValue(v))}</text>`);
  }
  for (let k = 0; k <= 6; k++) {
    const t = t0 + (span * k) / 6;
    parts.push(`<text class="tick" x="${n(x(t))}" y="${H - 8}" text-anchor="${k === 0 ? 'start' : k === 6 ? 'end' : 'middle'}">${new Date(t).toISOString().slice(11, 16)}</text>`);
  }
  const path = (pick: (p: ChartPoint) => number | null, pts: readonly ChartPoint[]) => {
    let d = '';
    let pen = false;
    for (const p of pts) {
      const v = pick(p);
      if (v === null || Number.isNaN(v)) {
        pen = false;
        continue;
      }
      d += `${pen ? 'L' : 'M'}${n(x(p.t))} ${n(y(v))}`;
      pen = true;
    }
    return d;
  };
  const sampled = downsample(points, t0, t1, W - M.l - M.r);
  const thresholdPath = path((p) => p.threshold, sampled);
  if (thresholdPath) parts.push(`<path class="series threshold" data-series="threshold" d="${thresholdPath}"><title>threshold</title></path>`);
  const valuePath = path((p) => p.value, sampled);
  if (valuePath) parts.push(`<path class="series value" data-series="value" d="${valuePath}"><title>value</title></path>`);
  markers.forEach((m, i) => {
    const mx = n(x(m.t));
    const row = M.t + 11 + (i % 3) * 12; // stagger labels so close markers stay readable
    parts.push(
      `<g class="marker ${m.kind}${m.action ? ` ${m.action}` : ''}" data-marker="${m.kind}"${m.id !== undefined ? ` data-decision-id="${m.id}"` : ''}><line x1="${mx}" x2="${mx}" y1="${M.t}" y2="${H - M.b}"/>` +
        `<text x="${mx}" y="${row}" dx="${x(m.t) > W - 160 ? -3 : 3}" text-anchor="${x(m.t) > W - 160 ? 'end' : 'start'}">${esc(m.label)}</text><title>${esc(m.label)} at ${new Date(m.t).toISOString()}</title></g>`,
    );
  });
  return `<svg class="chart" viewBox="0 0 ${W} ${H}" role="img" aria-label="${esc(title)}" xmlns="http://www.w3.org/2000/svg"><rect class="plot" x="${M.l}" y="${M.t}" width="${W - M.l - M.r}" height="${H - M.t - M.b}"/>${parts.join('')}</svg>`;
}
