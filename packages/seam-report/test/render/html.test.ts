import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { type Browser, chromium } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { render } from '../../src/render/index.js';
import { type RenderFixtures, renderFixtures } from '../support/reports.js';

/**
 * The browser test/support/chromium-setup.ts found (Debian's chromium package, which
 * scripts/ensure-chromium.sh installs, or another); null where none can be had: the tests are
 * skipped, which that setup says in one line (and refuses under REQUIRE_CHROMIUM=1, as in CI).
 */
const CHROMIUM = inject('chromium');
const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];
/** Where the screenshots go, for a person to look at after the run. */
const OUTPUT = join(tmpdir(), 'seam-report-html-test');

let fixtures: RenderFixtures;
let browser: Browser;

beforeAll(async () => {
  if (CHROMIUM === null) return;
  mkdirSync(OUTPUT, { recursive: true });
  fixtures = await renderFixtures();
  browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS });
});
afterAll(async () => {
  await browser?.close();
  fixtures?.dispose();
});

/** Opens a rendered report from a file and records every console message, error and request. */
async function open(name: string, html: string) {
  const file = join(OUTPUT, `${name}.html`);
  writeFileSync(file, html);
  const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  const problems: string[] = [];
  const requests: string[] = [];
  page.on('console', (message) => {
    if (message.type() === 'error' || message.type() === 'warning')
      problems.push(`${message.type()}: ${message.text()}`);
  });
  page.on('pageerror', (error) => problems.push(`pageerror: ${error.message}`));
  page.on('request', (request) => requests.push(request.url()));
  const url = pathToFileURL(file).href;
  await page.goto(url, { waitUntil: 'load' });
  return { page, problems, requests, url };
}

describe.skipIf(CHROMIUM === null)('HTML report in headless Chromium', () => {
  it('loads with no console errors and no network request, and is screenshotted', async () => {
    const { page, problems, requests, url } = await open('full', render(fixtures.full, 'html'));
    expect(problems).toEqual([]);
    expect(requests).toEqual([url]);
    const screenshot = join(OUTPUT, 'full.png');
    await page.screenshot({ path: screenshot, fullPage: true });
    const png = readFileSync(screenshot);
    expect(png.subarray(1, 4).toString('latin1')).toBe('PNG');
    expect(png.readUInt32BE(16)).toBe(1280); // width from the IHDR chunk
    expect(png.readUInt32BE(20)).toBeGreaterThan(900); // a full page: taller than the viewport
    await page.close();
  });

  it('shows the decision, a seam × engine heat map and the trigger table', async () => {
    const { page } = await open('structure', render(fixtures.full, 'html'));
    await expect(page.locator('#decision').textContent()).resolves.toBe(
      'Extract now: retire_queue (then reconcile wal)',
    );
    const heatHeaders = await page.locator('#heatmap table thead th').allTextContents();
    expect(heatHeaders).toEqual(['seam', 'alpha', 'beta', 'gamma', 'classification', 'verdict']);
    const cells = page.locator('#heatmap td.cell');
    await expect(cells.count()).resolves.toBe(6);
    // the test's TypeScript has no DOM types: name the one browser function used
    type Styles = { getComputedStyle(element: unknown): { backgroundColor: string } };
    const background = await cells
      .first()
      .evaluate((cell) => (globalThis as unknown as Styles).getComputedStyle(cell).backgroundColor);
    expect(background).toMatch(/^rgb/);
    const triggerRows = await page.locator('#triggers tbody tr').count();
    expect(triggerRows).toBe(2);
    await expect(
      page.locator('#triggers tbody tr').first().locator('td').first().textContent(),
    ).resolves.toMatch(/^no/);
    await page.close();
  });

  it('draws a timeline per seam with change markers, and side-by-side diffs', async () => {
    const { page } = await open('details', render(fixtures.full, 'html'));
    const wal = page.locator('#seam-wal');
    await expect(wal.locator('svg.timeline polyline').count()).resolves.toBe(1);
    const markers = await wal.locator('svg.timeline circle title').allTextContents();
    expect(markers.some((title) => title.includes('beta: RangeError for bad magic'))).toBe(true);
    expect(markers.some((title) => title.includes('beta: use byteLength too'))).toBe(true);
    const box = await wal.locator('svg.timeline').boundingBox();
    expect(box!.width).toBeGreaterThan(500);
    const added = await wal.locator('table.sbs td.add').allTextContents();
    expect(added.some((line) => line.includes('RangeError'))).toBe(true);
    await expect(wal.locator('table.sbs td.del').count()).resolves.toBeGreaterThan(0);
    await page.close();
  });

  it('renders the edge cases cleanly too', async () => {
    for (const [name, report] of Object.entries(fixtures.edgeCases)) {
      const { page, problems, requests, url } = await open(name, render(report, 'html'));
      expect(problems, name).toEqual([]);
      expect(requests, name).toEqual([url]);
      await page.screenshot({ path: join(OUTPUT, `${name}.png`) });
      await page.close();
    }
  });
});
