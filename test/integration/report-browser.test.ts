// The HTML report opened in real headless Chromium (Debian's `chromium`, driven by playwright-core): no console
// errors, no network, the expected charts, series and markers, in light, dark and print. Screenshots go to
// test-artifacts/ for people to look at. Without Chromium the test fails (never skips): `.ci/run` installs it.
import fs from 'node:fs';
import path from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, describe, expect, it } from 'vitest';
import { cli } from '../helpers/run-cli.js';
import { useTempDir } from '../helpers/temp-dir.js';
import { writeIncidentLog } from '../helpers/synthetic-decision-log.js';

const CHROMIUM = process.env.CHROMIUM_BIN ?? '/usr/bin/chromium';
const ARTIFACTS = 'test-artifacts';
const tmp = useTempDir();
let launched: Promise<Browser> | undefined;

/** Launched on first use inside a test, so a missing Chromium fails each test rather than skipping it. */
function browser(): Promise<Browser> {
  if (!fs.existsSync(CHROMIUM)) throw new Error(`Chromium is not at ${CHROMIUM}: install it (apt-get install -y chromium) or set CHROMIUM_BIN; this test never skips`);
  fs.mkdirSync(ARTIFACTS, { recursive: true });
  launched ??= chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'] });
  return launched;
}

afterAll(async () => {
  if (launched) await (await launched).close();
});

/** Opens a report, recording console errors, page errors and every request that is not the file itself. */
async function open(file: string, colorScheme: 'light' | 'dark'): Promise<{ page: Page; problems: string[] }> {
  const page = await (await browser()).newPage({ viewport: { width: 1000, height: 800 }, colorScheme });
  const problems: string[] = [];
  page.on('console', (m) => m.type() === 'error' && problems.push(`console: ${m.text()}`));
  page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
  page.on('request', (r) => r.url() !== `file://${file}` && problems.push(`request: ${r.url()}`));
  await page.goto(`file://${file}`, { waitUntil: 'load' });
  return { page, problems };
}

/** What each rule's chart holds, read through locators (no DOM types needed in this Node project). */
async function counts(page: Page) {
  const out = [];
  const sections = page.locator('section.rule');
  for (let i = 0; i < (await sections.count()); i++) {
    const s = sections.nth(i);
    const attrs = async (selector: string, attr: string) => {
      const l = s.locator(selector);
      const values: string[] = [];
      for (let j = 0; j < (await l.count()); j++) values.push((await l.nth(j).getAttribute(attr)) ?? '');
      return values;
    };
    out.push({
      rule: await s.getAttribute('data-rule'),
      series: await attrs('path.series', 'data-series'),
      decisions: (await attrs('g.marker[data-marker="decision"]', 'class')).map((c) => c.split(' ').at(-1)),
      notifications: await s.locator('g.marker[data-marker="notification"]').count(),
      pending: await s.locator('rect.span.pending').count(),
      firing: await s.locator('rect.span.firing').count(),
    });
  }
  return out;
}

const background = (page: Page) => page.evaluate<string>('getComputedStyle(document.body).backgroundColor');

describe('report in headless Chromium', () => {
  it('the replayed example: eleven charts (nine rules and the availability SLO as two window pairs), two series each, page and rollback markers, no errors', async () => {
    const file = path.join(tmp(), 'example.db');
    expect(cli('replay', '--rules', 'rules/voice-server.yaml', '--recording', 'examples/bad-release/recording.json', '--release-at', '2026-11-20T14:00:00Z', '--db', file).code).toBe(0);
    const html = path.join(path.dirname(file), 'report.html');
    expect(cli('report', '--release', '1', '--db', file, '--out', html).code).toBe(0);
    for (const scheme of ['light', 'dark'] as const) {
      const { page, problems } = await open(html, scheme);
      const charts = await counts(page);
      expect(charts).toHaveLength(11);
      for (const c of charts) expect(c.series).toEqual(['threshold', 'value']);
      // decision markers: on the rule that decided, plus none elsewhere (promote would be on all; this release rolled back)
      expect(charts.find((c) => c.rule === 'ttfa-regression')).toMatchObject({ decisions: ['page'], firing: 1 });
      expect(charts.find((c) => c.rule === 'error-rate-critical')).toMatchObject({ decisions: ['rollback'], pending: 1, firing: 1 });
      expect(charts.filter((c) => c.decisions.length === 0)).toHaveLength(9);
      expect(await page.locator('.summary').textContent()).toMatch(/was rolled back when error-rate-critical fired/);
      const bg = await background(page);
      expect(bg).toBe(scheme === 'dark' ? 'rgb(13, 17, 23)' : 'rgb(255, 255, 255)');
      await page.screenshot({ path: path.join(ARTIFACTS, `report-example-${scheme}.png`), fullPage: true });
      if (scheme === 'dark') {
        await page.emulateMedia({ media: 'print' });
        expect(await background(page)).toBe('rgb(255, 255, 255)');
        await page.pdf({ path: path.join(ARTIFACTS, 'report-example-print.pdf') });
      }
      expect(problems).toEqual([]);
      await page.close();
    }
  }, 120_000);

  it('a synthetic release with a page, an escalation, a resolve, notifications and a promote', async () => {
    const file = path.join(tmp(), 'synthetic.db');
    const log = writeIncidentLog(file, Math.floor(Date.now() / 60_000) * 60_000, { optionalTables: true });
    const html = path.join(path.dirname(file), 'report.html');
    expect(cli('report', '--release', '1', '--db', file, '--out', html).code).toBe(0);
    const { page, problems } = await open(html, 'light');
    const charts = await counts(page);
    expect(charts.map((c) => c.rule)).toEqual(['error-rate', 'latency']);
    const latency = charts[1]!;
    expect(latency.series).toEqual(['threshold', 'value']);
    expect(latency.decisions).toEqual(['page', 'escalate', 'resolve', 'promote']);
    expect(latency.notifications).toBe(2);
    expect(latency).toMatchObject({ pending: 1, firing: 1 });
    // the promote belongs to the release, so it marks every chart
    expect(charts[0]!.decisions).toEqual(['promote']);
    expect(log.decisions.filter((d) => d.releaseId === 1)).toHaveLength(4);
    await page.screenshot({ path: path.join(ARTIFACTS, 'report-synthetic-light.png'), fullPage: true });
    expect(problems).toEqual([]);
    await page.close();
  }, 120_000);
});
