import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadHistory } from '../history.ts';
import { monthlyRuns, newSigningKey, writeReportDirectory } from '../history.testkit.ts';
import { launchBrowser, openFile, type OpenedPage, type TestBrowser } from './browser.testkit.ts';
import { htmlFileFor, INDEX_FILE, writeHtmlIndex } from './html-pages.ts';

const key = newSigningKey();
const EVIL = 'Billing <img src=x onerror=alert(1)> & "quotes"';
let dir: string;
let shots: string;
let names: string[];
let browser: TestBrowser;

const ordersRestore = [300, 320, 350, null, 390, 420, 440, 470, 500, 520, 560, 590];

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'restore-drill-html-'));
  // Screenshots go to a temp dir; set RESTORE_DRILL_SCREENSHOT_DIR to keep them for a look.
  shots = process.env.RESTORE_DRILL_SCREENSHOT_DIR ?? (await mkdtemp(join(tmpdir(), 'restore-drill-shots-')));
  names = await writeReportDirectory(dir, key, [
    { name: 'Orders DB: nightly dump', controls: ['SOC2-A1.2'], runs: monthlyRuns('2026-01', ordersRestore) },
    { name: EVIL, rtoTarget: 3600, runs: monthlyRuns('2026-06', [900, 880, 870]) },
    { name: 'Legacy CRM', runs: monthlyRuns('2026-11', [60]) },
  ]);
  browser = await launchBrowser();
});
afterAll(async () => {
  await browser?.close();
  await rm(dir, { recursive: true, force: true });
  if (!process.env.RESTORE_DRILL_SCREENSHOT_DIR) await rm(shots, { recursive: true, force: true });
});

const fileOf = (drillSlug: string, month: string) =>
  names.find((n) => n.startsWith(month.replace('-', '')) && n.includes(drillSlug))!;

/** Asserts the page loaded nothing but itself, logged no error and ran no injected script. */
function expectCleanPage(opened: OpenedPage): void {
  expect(opened.errors).toEqual([]);
  expect(opened.dialogs).toEqual([]);
  expect(opened.requests.every((url) => url.startsWith('file://'))).toBe(true);
  expect(opened.requests).toHaveLength(1);
}

/** Takes a full-page screenshot and checks it is a PNG as wide as the viewport. */
async function screenshot(opened: OpenedPage, name: string): Promise<void> {
  const path = join(shots, name);
  await opened.page.screenshot({ path, fullPage: true });
  const png = await readFile(path);
  expect(png.subarray(0, 8)).toEqual(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]));
  expect(png.readUInt32BE(16)).toBe(1100);
  expect(png.readUInt32BE(20)).toBeGreaterThan(1500);
  expect(png.length).toBeGreaterThan(50_000);
}

describe('the HTML page of one run', () => {
  it('renders the run: status, signature with key id, checks, phase timeline, history charts and forecast', async () => {
    const file = fileOf('orders', '2026-12');
    const opened = await openFile(browser, join(dir, htmlFileFor(file)));
    const { page } = opened;
    expect(await page.title()).toBe('Restore drill: Orders DB: nightly dump — PASSED');
    expect(await page.locator('h1 .badge').textContent()).toBe('PASSED');
    expect(await page.locator('.panel[data-signature="verified"]').textContent()).toContain(
      `Signature verified with key ${key.keyid}`,
    );
    expect(await page.locator('code.control').allTextContents()).toEqual(['SOC2-A1.2']);

    const checks = page.locator('table.checks tr.check');
    expect(await checks.count()).toBe(2);
    expect(await checks.nth(1).locator('td').allTextContents()).toEqual([
      '✓ passed',
      'checksum',
      'public.orders',
      '9f2c',
      '9f2c',
      '',
    ]);
    expect(await page.locator('tr.objective[data-objective="RTO"] td').allTextContents()).toEqual([
      '15m 00s',
      '10m 14s',
      '✓ met',
    ]);

    const phases = page.locator('svg[data-chart="phases"] rect.phase');
    expect(await phases.evaluateAll((rects) => rects.map((r) => r.getAttribute('data-phase')))).toEqual([
      'locate',
      'provision',
      'restore',
      'verify',
    ]);
    const restoreBar = await phases.nth(2).boundingBox();
    const locateBar = await phases.nth(0).boundingBox();
    expect(restoreBar!.width).toBeGreaterThan(20 * locateBar!.width);

    // One point per month that has a completed restore (April's restore failed), one mark per run.
    const restorePoints = page.locator('svg[data-chart="restore"] circle.point');
    expect(await restorePoints.count()).toBe(11);
    expect(await restorePoints.last().getAttribute('data-seconds')).toBe('590');
    expect(await page.locator('svg[data-chart="restore"] .mark').count()).toBe(12);
    expect(await page.locator('svg[data-chart="restore"] .mark[data-status="failed"]').count()).toBe(1);
    expect(await page.locator('svg[data-chart="restore"] line.target').count()).toBe(1);
    expect(await page.locator('svg[data-chart="restore"] line.trend').count()).toBe(1);
    expect(await page.locator('svg[data-chart="rpo"] circle.point').count()).toBe(12);
    const chart = await page.locator('svg[data-chart="restore"]').boundingBox();
    expect(chart!.width).toBeGreaterThan(600);
    expect(chart!.height).toBeGreaterThan(150);

    expect(await page.locator('.forecast[data-forecast="breach"]').textContent()).toMatch(
      /^Forecast: restore time grows .*; at this rate the RTO of 15m 00s is reached in 20\d\d-\d\d \(in \d+ months?\)$/,
    );
    expect(await page.locator('table.runs tr.run').count()).toBe(12);
    expect(await page.locator('table.runs tr.run.current').getAttribute('data-file')).toBe(file);
    expectCleanPage(opened);
    await screenshot(opened, 'run-page.png');
    await opened.page.close();
  });

  it('shows a failed run: the error, the failed phase, skipped and failed checks', async () => {
    const opened = await openFile(browser, join(dir, htmlFileFor(fileOf('orders', '2026-04'))));
    const { page } = opened;
    expect(await page.title()).toBe('Restore drill: Orders DB: nightly dump — FAILED');
    expect(await page.locator('.panel.bad').first().textContent()).toBe(
      'Error in phase restore: pg_restore exited with code 1: out of disk space',
    );
    expect(await page.locator('svg[data-chart="phases"] rect.phase-failed').getAttribute('data-phase')).toBe('restore');
    expect(await page.locator('tr.check-failed td').nth(5).textContent()).toBe('range id 1000..1999 differs | 3 rows');
    expect(await page.locator('tr.check-skipped').count()).toBe(1);
    // Its history stops at the runs that existed when it was written.
    expect(await page.locator('table.runs tr.run').count()).toBe(4);
    expect(await page.locator('.forecast').getAttribute('data-forecast')).toBe('breach');
    expectCleanPage(opened);
    await opened.page.close();
  });

  it('shows text from the report as text: markup in a drill name is not executed or rendered', async () => {
    const opened = await openFile(browser, join(dir, htmlFileFor(fileOf('billing', '2026-08'))));
    const { page } = opened;
    expect(await page.title()).toBe(`Restore drill: ${EVIL} — PASSED`);
    expect(await page.locator('h1').textContent()).toBe(`Restore drill: ${EVIL} PASSED`);
    expect(await page.locator('img').count()).toBe(0);
    expect(await page.locator('.forecast').textContent()).toBe(
      'Forecast: restore time is not growing (−15s/month over 3 months)',
    );
    expectCleanPage(opened);
    await opened.page.close();
  });
});

describe('the index page of a report directory', () => {
  it('lists every drill with its latest status, the ledger verdict, charts, and links that resolve', async () => {
    const opened = await openFile(browser, join(dir, INDEX_FILE));
    const { page } = opened;
    expect(await page.title()).toMatch(/^Restore drill reports — restore-drill-html-/);
    expect(await page.locator('tr.drill').evaluateAll((rows) => rows.map((r) => r.getAttribute('data-drill')))).toEqual(
      [EVIL, 'Legacy CRM', 'Orders DB: nightly dump'],
    );
    expect(await page.locator('tr.drill .badge').allTextContents()).toEqual(['PASSED', 'PASSED', 'PASSED']);
    const verdict = page.locator('.panel[data-ledger="true"]');
    expect(await verdict.textContent()).toContain(
      `16 of 16 signature(s) verified with key ${key.keyid} (the key that signed the newest report)`,
    );
    expect(await verdict.textContent()).toContain('Ledger chain unbroken');
    expect(await page.locator('svg[data-chart="restore"]').count()).toBe(3);
    expect(await page.locator('svg[data-chart="rpo"]').count()).toBe(3);
    expect(await page.locator('svg[data-chart="restore"]').nth(2).locator('circle.point').count()).toBe(11);
    expect(
      await page.locator('.forecast').evaluateAll((els) => els.map((e) => e.getAttribute('data-forecast'))),
    ).toEqual(['not-growing', 'not-enough-history', 'breach']);
    // The index shows the last 12 runs of a drill and says how many more there are.
    expect(await page.locator('table.runs').nth(2).locator('tr.run').count()).toBe(12);

    const hrefs = await page.locator('table.runs a').evaluateAll((links) => links.map((a) => a.getAttribute('href')!));
    expect(hrefs.length).toBe(2 * 16);
    for (const href of hrefs) expect(existsSync(fileURLToPath(new URL(href, page.url()))), href).toBe(true);
    expectCleanPage(opened);
    await screenshot(opened, 'index-page.png');
    await opened.page.close();
  });

  it('written for an auditor with a public key: an edited report is marked invalid and the broken ledger named', async () => {
    const edited = fileOf('orders', '2026-05');
    const path = join(dir, edited);
    const original = await readFile(path, 'utf8');
    const envelope = JSON.parse(original);
    const statement = JSON.parse(Buffer.from(envelope.payload, 'base64').toString('utf8'));
    statement.predicate.status = 'passed';
    statement.predicate.phases[2].seconds = 60;
    envelope.payload = Buffer.from(JSON.stringify(statement)).toString('base64');
    await writeFile(path, JSON.stringify(envelope));
    const out = join(await mkdtemp(join(tmpdir(), 'restore-drill-audit-')), 'audit.html');
    try {
      await writeHtmlIndex(await loadHistory(dir, { publicKey: key.publicKey }), out, 'from auditor.pub.pem');
      const opened = await openFile(browser, out);
      const { page } = opened;
      const panel = page.locator('.panel[data-ledger="false"]');
      expect(await panel.getAttribute('data-signature')).toBe('invalid');
      expect(await panel.textContent()).toContain('15 of 16 signature(s) verified');
      expect(await panel.textContent()).toContain(`${edited}: signature does not match`);
      const row = page.locator(`tr.run[data-file="${edited}"]`);
      expect(await row.getAttribute('class')).toContain('sig-invalid');
      expect(await row.locator('[data-signature]').textContent()).toBe('✗ INVALID: signature does not match');
      // The edited run is kept out of the chart: its month has no point.
      expect(
        await page.locator('svg[data-chart="restore"]').nth(2).locator('circle.point[data-month="2026-05"]').count(),
      ).toBe(0);
      // Links from a page written elsewhere still reach the report directory.
      const href = await row.locator('a').first().getAttribute('href');
      expect(fileURLToPath(new URL(href!, page.url()))).toBe(resolve(dir, htmlFileFor(edited)));
      expectCleanPage(opened);
      await opened.page.close();
    } finally {
      await writeFile(path, original);
      await rm(resolve(out, '..'), { recursive: true, force: true });
    }
  });
});
