// A real headless Chromium for the page tests: one per file, a fresh page per test, its errors and requests recorded.

import { existsSync } from 'node:fs';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll } from 'vitest';

export const CHROMIUM = '/usr/bin/chromium';

// A test tool's own browser download does not work here: Debian's chromium is the browser.
// Without it the page tests are skipped, except in CI, where a missing browser must fail loudly.
export const browserMissing = !existsSync(CHROMIUM) && process.env.CI !== 'true';

const ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];

export interface OpenedPage {
  page: Page;
  /** Console errors and uncaught exceptions, in order. */
  errors: string[];
  /** Every URL the page requested. */
  requests: string[];
}

export const DESKTOP = { width: 1280, height: 900 };
export const PHONE = { width: 390, height: 844 };

/** Launches the browser before the file's tests and closes it after; call at the top of a describe. `args`: extra switches. */
export function useBrowser(args: readonly string[] = []): { open(url: string, options?: { viewport?: { width: number; height: number } }): Promise<OpenedPage> } {
  let browser: Browser | undefined;
  const contexts: BrowserContext[] = [];
  beforeAll(async () => {
    if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is missing; install it with: apt-get install -y chromium`);
    browser = await chromium.launch({ executablePath: CHROMIUM, args: [...ARGS, ...args] });
  });
  afterEach(async () => {
    await Promise.all(contexts.splice(0).map((context) => context.close()));
  });
  afterAll(async () => {
    await browser?.close();
  });

  return {
    async open(url, { viewport = DESKTOP } = {}) {
      if (!browser) throw new Error('the browser did not start');
      // Fixed locale and zone: what the page shows does not depend on the machine running the test.
      const context = await browser.newContext({ viewport, locale: 'en-US', timezoneId: 'UTC', serviceWorkers: 'block' });
      contexts.push(context);
      const page = await context.newPage();
      page.setDefaultTimeout(5_000);
      const errors: string[] = [];
      const requests: string[] = [];
      page.on('console', (message) => {
        if (message.type() === 'error') errors.push(message.text());
      });
      page.on('pageerror', (error) => errors.push(error.message));
      page.on('request', (request) => requests.push(request.url()));
      await page.goto(url);
      return { page, errors, requests };
    },
  };
}
