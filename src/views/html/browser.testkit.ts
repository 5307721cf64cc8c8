import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { chromium, type BrowserContext, type Page } from 'playwright-core';

/** Debian's chromium, installed by `.ci/install-chromium.sh`. */
export const CHROMIUM = '/usr/bin/chromium';

/**
 * Flags for a headless Chromium in a sandboxed CI container with no network: without the
 * background-networking ones it keeps trying (and failing) to reach Google's services.
 */
const ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

/** A running headless Chromium with a fresh profile; `close()` stops it and removes the profile. */
export interface TestBrowser {
  readonly context: BrowserContext;
  close(): Promise<void>;
}

/**
 * Starts Debian's Chromium through playwright-core with a new, empty `--user-data-dir`.
 *
 * @example
 * const browser = await launchBrowser();
 * try { … } finally { await browser.close(); }
 */
export async function launchBrowser(): Promise<TestBrowser> {
  const userDataDir = await mkdtemp(join(tmpdir(), 'restore-drill-chromium-'));
  const context = await chromium.launchPersistentContext(userDataDir, {
    executablePath: CHROMIUM,
    headless: true,
    args: ARGS,
    viewport: { width: 1100, height: 900 },
  });
  return {
    context,
    async close() {
      await context.close();
      await rm(userDataDir, { recursive: true, force: true });
    },
  };
}

/** A page opened from a file, with everything it logged, failed on, or tried to load. */
export interface OpenedPage {
  readonly page: Page;
  /** Console errors and uncaught page errors. */
  readonly errors: string[];
  /** Every URL the page requested (the page itself included). */
  readonly requests: string[];
  /** Messages of `alert()`/`confirm()` dialogs: injected script would show up here. */
  readonly dialogs: string[];
}

/**
 * Opens a local HTML file as `file://` in a new tab and records errors, requests and dialogs.
 *
 * @example
 * const { page, errors } = await openFile(browser, 'reports/index.html');
 */
export async function openFile(browser: TestBrowser, path: string): Promise<OpenedPage> {
  const page = await browser.context.newPage();
  const errors: string[] = [];
  const requests: string[] = [];
  const dialogs: string[] = [];
  page.on('console', (message) => {
    if (message.type() === 'error') errors.push(message.text());
  });
  page.on('pageerror', (error) => errors.push(error.message));
  page.on('request', (request) => requests.push(request.url()));
  page.on('dialog', (dialog) => {
    dialogs.push(dialog.message());
    void dialog.dismiss();
  });
  await page.goto(pathToFileURL(path).href, { waitUntil: 'load' });
  return { page, errors, requests, dialogs };
}
