// A failed report must look failed on its first screen: the list of failed checks, with their reasons, sits
// above the fold of a laptop-sized window, not half-way down a long page under green cards.
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { newSigningKey } from '../history.testkit.ts';
import type { CheckResult } from '../../model/report.ts';
import { writeReport } from '../../drill/report-writer.ts';
import { sampleReport } from '../../model/sample-report.fixture.ts';
import { launchBrowser, openFile, type TestBrowser } from './browser.testkit.ts';
import { INDEX_FILE } from './html-pages.ts';

const VIEWPORT = { width: 1280, height: 900 };
let dir: string;
let shots: string;
let browser: TestBrowser;
let htmlPath: string;

// The shape from the issue: 42 passed checks, 6 failed ones with long reasons, RTO and RPO both met.
const passed: CheckResult[] = Array.from({ length: 42 }, (_, i) => ({
  name: `row count public.t${i} (manifest)`,
  status: 'passed',
  expected: 1000 + i,
  actual: 1000 + i,
  table: `public.t${i}`,
}));
const failed: CheckResult[] = Array.from({ length: 6 }, (_, i) => ({
  name: `checksum public.orders_${i} (manifest)`,
  status: 'failed',
  expected: `sum:${'9f2c'.repeat(8)}`,
  actual: `sum:${'77aa'.repeat(8)}`,
  table: `public.orders_${i}`,
  detail: `key range id ${i * 1000}..${i * 1000 + 999} differs: 3 rows changed since the marker was taken in production`,
}));

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'restore-drill-fold-'));
  // Screenshots go to a temp dir; set RESTORE_DRILL_SCREENSHOT_DIR to keep them for a look.
  shots = process.env.RESTORE_DRILL_SCREENSHOT_DIR ?? (await mkdtemp(join(tmpdir(), 'restore-drill-fold-shots-')));
  const report = sampleReport({
    status: 'failed',
    controls: ['SOC2-A1.2'],
    objectives: {
      rto: { targetSeconds: 900, actualSeconds: 187, met: true },
      rpo: { targetSeconds: 28800, actualSeconds: 3600, met: true, basis: 'marker' },
    },
    // Failed checks in the middle of the list, as a real drill finds them.
    checks: [...passed.slice(0, 20), ...failed, ...passed.slice(20)],
  });
  const { previous: _, ...unsigned } = report;
  ({ htmlPath } = await writeReport({ report: unsigned, reportDir: dir, key: { ...newSigningKey(), demo: true } }));
  browser = await launchBrowser();
});
afterAll(async () => {
  await browser?.close();
  await rm(dir, { recursive: true, force: true });
  if (!process.env.RESTORE_DRILL_SCREENSHOT_DIR) await rm(shots, { recursive: true, force: true });
});

it('shows the failed-check list of a failed report within the first 900 px of a 1280×900 window', async () => {
  const { page } = await openFile(browser, htmlPath);
  await page.setViewportSize(VIEWPORT);
  const list = page.locator('#failed-checks');
  expect(await list.getAttribute('data-failed')).toBe('6');
  const box = await list.evaluate((element) => {
    const rect = element.getBoundingClientRect();
    return { top: rect.top, bottom: rect.bottom };
  });
  expect(box.top).toBeGreaterThan(0);
  expect(box.bottom).toBeLessThanOrEqual(VIEWPORT.height);
  // Every failed check with its reason, in report order.
  const items = await page.locator('#failed-checks li.failed-check').allTextContents();
  expect(items).toHaveLength(6);
  expect(items[0]).toBe(
    `checksum public.orders_0 (manifest) (public.orders_0) — expected ${failed[0]!.expected}, got ${failed[0]!.actual}${failed[0]!.detail}`,
  );
  // The list comes before the green cards, and the checks card leads with the failures.
  const cardsTop = await page.locator('.cards').evaluate((element) => element.getBoundingClientRect().top);
  expect(box.bottom).toBeLessThanOrEqual(cardsTop);
  expect(await page.locator('.card .value .no').textContent()).toBe('6 failed');
  // A demo key says so on the first screen too.
  const demo = await page
    .locator('.panel[data-demo-key="true"]')
    .evaluate((element) => element.getBoundingClientRect().bottom);
  expect(demo).toBeLessThanOrEqual(VIEWPORT.height);
  // Its controls are named, but not as evidence.
  expect(await page.locator('p:has(code.control)').textContent()).toBe(
    'Declares controls SOC2-A1.2 — not evidence for them: demo key — not evidence.',
  );
  // In the table of all checks the failed ones come first.
  expect(await page.locator('table.checks tbody tr').first().getAttribute('data-status')).toBe('failed');

  const shot = join(shots, 'failed-report-first-screen.png');
  await page.screenshot({ path: shot });
  const png = await readFile(shot);
  expect(png.readUInt32BE(16)).toBe(VIEWPORT.width);
  expect(png.readUInt32BE(20)).toBe(VIEWPORT.height);
  await page.close();
});

it('shows the failing drill and why at the top of the index', async () => {
  const { page } = await openFile(browser, join(dir, INDEX_FILE));
  await page.setViewportSize(VIEWPORT);
  const panel = page.locator('#failing-drills');
  const bottom = await panel.evaluate((element) => element.getBoundingClientRect().bottom);
  expect(bottom).toBeLessThanOrEqual(VIEWPORT.height);
  const reasons = await panel.locator('ul.reasons li').allTextContents();
  expect(reasons[0]).toMatch(/^checksum public\.orders_0 \(manifest\): expected sum:/);
  expect(reasons.at(-1)).toBe('… and 1 more failed check(s)');
  expect(await page.locator('.panel[data-demo-key="true"]').count()).toBe(1);
  await page.screenshot({ path: join(shots, 'failed-index-first-screen.png') });
  await page.close();
});
