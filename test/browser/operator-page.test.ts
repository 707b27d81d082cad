// The operator page in a real browser against the real server: what an operator sees, and that it stays live.
// (Code that runs in the page is passed as strings: this project's TypeScript has no DOM types.)

import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import express from 'express';
import type { Page } from 'playwright-core';
import request from 'supertest';
import { describe, expect, it } from 'vitest';
import { operatorPage } from '../../src/http/operator-page.ts';
import { browserMissing, DESKTOP, PHONE, useBrowser } from '../helpers/browser.ts';
import { json, post, startServer } from '../helpers/server-process.ts';
import { tempDir } from '../helpers/temp-dir.ts';

const ATS = 'auto_trading_state.json';
const VB = 'virtual_balance.json';

describe('serving the page', () => {
  // From the TypeScript sources here; the browser tests below run the compiled server from dist/.
  const app = express()
    .use('/balance-sync', operatorPage())
    .use((_req, res) => res.status(404).json({ status: 'error' }));

  it('redirects /balance-sync to /balance-sync/, keeping the query', async () => {
    const response = await request(app).get('/balance-sync?tab=files').expect(301);
    expect(response.headers.location).toBe('/balance-sync/?tab=files');
  });

  it('serves the page, its module and uPlot with their types, revalidated on every load', async () => {
    const page = await request(app).get('/balance-sync/').expect(200);
    expect(page.headers['content-type']).toMatch(/^text\/html/);
    expect(page.headers['cache-control']).toBe('no-cache');
    expect(page.text).toContain('<script type="module" src="/balance-sync/operator.js">');
    expect((await request(app).get('/balance-sync/operator.js').expect(200)).headers['content-type']).toMatch(/^text\/javascript/);
    const uplot = await request(app).get('/balance-sync/vendor/uPlot.esm.js').expect(200);
    expect(uplot.headers['content-type']).toMatch(/^text\/javascript/);
    expect(uplot.text).toContain('export { uPlot as default }');
    expect((await request(app).get('/balance-sync/vendor/uPlot.min.css').expect(200)).headers['content-type']).toMatch(/^text\/css/);
  });

  it.each(['/balance-sync/', '/balance-sync/operator.js', '/balance-sync/operator.css', '/balance-sync/vendor/uPlot.esm.js'])(
    "answers fetch()'s conditional request for %s with 304: a list of tags, weak comparison, *, and no-cache is no obstacle (RFC 9110)",
    async (path) => {
      const etag = (await request(app).get(path).expect(200)).headers.etag as string;
      expect(etag).toBeTruthy();
      for (const header of [etag, `"older", ${etag}`, etag.replace(/^W\//, ''), '*']) {
        const again = await request(app).get(path).set({ 'If-None-Match': header, 'Cache-Control': 'no-cache', Pragma: 'no-cache' }).expect(304);
        expect(again.headers.etag).toBe(etag);
        expect(again.headers['cache-control']).toBe('no-cache');
      }
      await request(app).head(path).set({ 'If-None-Match': etag, 'Cache-Control': 'no-cache' }).expect(304);
      await request(app).get(path).set({ 'If-None-Match': '"older"', 'Cache-Control': 'no-cache' }).expect(200);
    },
  );

  it('answers If-Modified-Since with 304 too, no-cache or not, unless an If-None-Match names another version (RFC 9110 §13.1.3)', async () => {
    const first = await request(app).get('/balance-sync/operator.js').expect(200);
    const modified = first.headers['last-modified'] as string;
    expect(modified).toBeTruthy();
    await request(app).get('/balance-sync/operator.js').set({ 'If-Modified-Since': modified, 'Cache-Control': 'no-cache' }).expect(304);
    await request(app).get('/balance-sync/operator.js').set({ 'If-Modified-Since': new Date(Date.parse(modified) - 60_000).toUTCString() }).expect(200);
    await request(app).get('/balance-sync/operator.js').set({ 'If-Modified-Since': modified, 'If-None-Match': '"older"' }).expect(200);
  });

  it('leaves anything else, and every method but GET and HEAD, to the app (its JSON 404)', async () => {
    await request(app).get('/balance-sync/nothing-here.js').expect(404, { status: 'error' });
    await request(app).get('/balance-sync/vendor/uPlot.cjs.js').expect(404, { status: 'error' });
    await request(app).post('/balance-sync/').expect(404, { status: 'error' });
    await request(app).post('/balance-sync').expect(404, { status: 'error' });
    await request(app).head('/balance-sync/').expect(200);
  });
});

/** What the operator reads off the page, as text. */
const shown = (page: Page) => ({
  balance: () => page.locator('#balance').textContent(),
  revision: () => page.locator('#revision').textContent(),
  stream: () => page.locator('#stream-state').textContent(),
  agreement: () => page.locator('#agreement').textContent(),
  chartPoints: async () => Number(/^(\d+) points?/.exec((await page.locator('#chart-caption').textContent()) ?? '')?.[1] ?? NaN),
  newestChange: () => page.locator('#changes tr').first().textContent(),
  formMessage: () => page.locator('#form-message').textContent(),
});

describe.skipIf(browserMissing)('the operator page in a browser', () => {
  const browser = useBrowser();

  async function openPage(env: Record<string, string> = {}, viewport?: { width: number; height: number }) {
    const dir = await tempDir();
    const server = await startServer({ DATA_DIR: dir, ...env });
    const opened = await browser.open(`${server.url}/balance-sync/`, viewport && { viewport });
    const see = shown(opened.page);
    await expect.poll(see.stream).toContain('Live');
    await expect.poll(see.chartPoints).toBeGreaterThan(0);
    return { dir, server, see, ...opened };
  }

  it('loads with no error and no request leaving the machine, and shows the balance exactly', async () => {
    // 20 significant digits: a double would round this; the page must not.
    const { page, server, see, errors, requests } = await openPage({ INITIAL_BALANCE: '999999999999.12345678' });
    const { body } = await json(`${server.url}/virtual_balance`);

    expect(await see.balance()).toBe('999,999,999,999.12345678');
    expect(await page.locator('#currency').textContent()).toBe('USDT');
    expect(await see.revision()).toBe(String(body.revision));
    await expect.poll(see.agreement).toBe('✓ The files agree');
    const files = await page.locator('#files li').allTextContents();
    expect(files).toHaveLength(2);
    expect(files[0]).toMatch(new RegExp(`✓ ${VB}999,999,999,999\\.12345678modified `));
    expect(files[1]).toMatch(new RegExp(`✓ ${ATS}999,999,999,999\\.12345678modified `));
    expect(await page.locator('.uplot canvas').count()).toBe(1);
    expect(errors).toEqual([]);
    expect(requests.length).toBeGreaterThan(3);
    expect(requests.filter((url) => new URL(url).origin !== server.url)).toEqual([]);
  });

  it('follows a change made elsewhere within a second, without reloading', async () => {
    const { page, server, see } = await openPage();
    await page.evaluate('window.notReloaded = true');
    const points = await see.chartPoints();

    const started = performance.now();
    const { body } = await post(`${server.url}/virtual_balance`, { balance: '12345.67', reason: 'booked elsewhere' });
    await expect.poll(see.balance, { timeout: 1_000 }).toBe('12,345.67');
    await expect.poll(see.revision, { timeout: 1_000 }).toBe(String(body.revision));
    await expect.poll(see.newestChange, { timeout: 1_000 }).toMatch(/API.*10,000 → 12,345\.67 \(\+2,345\.67\).*booked elsewhere/);
    await expect.poll(see.chartPoints, { timeout: 1_000 }).toBe(points + 1);
    expect(performance.now() - started).toBeLessThan(1_000);
    expect(await page.evaluate('window.notReloaded')).toBe(true);
  });

  it('shows a hand edit of the trading file in the files panel, the changes and the chart', async () => {
    const { dir, page, see } = await openPage();
    const points = await see.chartPoints();

    const state = JSON.parse(await readFile(join(dir, ATS), 'utf8'));
    await writeFile(join(dir, ATS), JSON.stringify({ ...state, balance: 4321.5 }, null, 2));

    await expect.poll(see.balance).toBe('4,321.5');
    await expect.poll(() => page.locator('#files .file-balance').allTextContents()).toEqual(['4,321.5', '4,321.5']);
    await expect.poll(see.agreement).toBe('✓ The files agree');
    await expect.poll(see.newestChange).toContain(`edit of ${ATS}`);
    await expect.poll(see.chartPoints).toBe(points + 1);
  });

  it('says why the service is not ready when a file cannot be written, names that file, and recovers', async () => {
    const { dir, page, see } = await openPage();
    await rm(join(dir, ATS));
    await mkdir(join(dir, ATS)); // a directory where the trading state was: every write of it fails
    await expect.poll(see.agreement, { timeout: 5_000 }).toMatch(new RegExp(`^✗ Not ready: ${ATS} cannot be written \\(EISDIR`));
    await expect.poll(() => page.locator('#files li').allTextContents()).toEqual([expect.stringMatching(new RegExp(`^✓ ${VB}10,000modified `)), expect.stringMatching(new RegExp(`^✗ ${ATS}.*cannot be written \\(see above\\)$`))]);
    await rm(join(dir, ATS), { recursive: true });
    await expect.poll(see.agreement, { timeout: 5_000 }).toBe('✓ The files agree');
  });

  describe('the form', () => {
    it('sets the balance and adjusts it by a delta, exactly', async () => {
      const { page, server, see } = await openPage();

      await page.getByLabel('Amount').fill('2500.12345678');
      await page.getByLabel('Reason').fill('top-up');
      await page.getByRole('button', { name: 'Apply' }).click();
      await expect.poll(see.formMessage).toMatch(/^Saved: the balance is 2,500\.12345678 USDT/);
      await expect.poll(see.balance).toBe('2,500.12345678');

      await page.getByRole('radio', { name: 'Adjust by' }).check();
      await page.getByLabel('Amount').fill('-0.12345678');
      await page.getByRole('button', { name: 'Apply' }).click();
      await expect.poll(see.balance).toBe('2,500');
      await expect.poll(see.newestChange).toContain('2,500.12345678 → 2,500 (−0.12345678)');
      expect((await json(`${server.url}/virtual_balance`)).body.balance).toBe(2500);
    });

    it('asks for the token when the service requires one, then succeeds with it', async () => {
      const { page, see } = await openPage({ API_TOKEN: 'sesame-4711' });
      const token = page.getByLabel('API token');
      expect(await token.isVisible()).toBe(false);

      await page.getByLabel('Amount').fill('77');
      await page.getByRole('button', { name: 'Apply' }).click();
      await expect.poll(see.formMessage).toBe('a valid bearer token is required. Enter the API token and apply again.');
      await token.waitFor({ state: 'visible' });
      expect(await see.balance()).toBe('10,000');

      await token.fill('wrong');
      await page.getByRole('button', { name: 'Apply' }).click();
      await expect.poll(see.formMessage).toContain('That token was refused');

      await token.fill('sesame-4711');
      await page.getByRole('button', { name: 'Apply' }).click();
      await expect.poll(see.balance).toBe('77');
      // Kept for the tab's session only.
      expect(await page.evaluate("sessionStorage.getItem('balance-sync.api-token')")).toBe('sesame-4711');
      expect(await page.evaluate('localStorage.length')).toBe(0);
    });

    it("shows the API's message for a bad amount and marks the field", async () => {
      const { page, server, see } = await openPage();
      const { status, body } = await post(`${server.url}/virtual_balance`, { balance: '12.123456789' });
      expect(status).toBe(400);

      await page.getByLabel('Amount').fill('12.123456789');
      await page.getByRole('button', { name: 'Apply' }).click();
      await expect.poll(see.formMessage).toBe(body.message);
      expect(await page.getByLabel('Amount').getAttribute('aria-invalid')).toBe('true');
      expect(await see.balance()).toBe('10,000');
    });
  });

  it('fits a 390 px phone without sideways scrolling, with a name on every control', async () => {
    const { page, server, see } = await openPage({ API_TOKEN: 't' }, PHONE);
    await post(`${server.url}/virtual_balance`, { balance: '999999999999.12345678', reason: 'x'.repeat(200) }, { Authorization: 'Bearer t' });
    await expect.poll(see.balance).toBe('999,999,999,999.12345678');
    // Reveal the token field too, so that it is checked with the rest.
    await page.getByLabel('Amount').fill('1');
    await page.getByRole('button', { name: 'Apply' }).click();
    await page.getByLabel('API token').waitFor({ state: 'visible' });

    expect(await page.evaluate<number>('document.documentElement.scrollWidth')).toBeLessThanOrEqual(PHONE.width);
    expect(await page.getByRole('banner').getByRole('heading', { level: 1 }).textContent()).toContain('balance-sync');
    expect(await page.getByRole('main').getByRole('region').count()).toBe(5);
    const controls = page.locator('input, button, select, textarea').filter({ visible: true });
    // The first line of each control's aria snapshot is `- <role> "<accessible name>"`.
    const names = await Promise.all((await controls.all()).map(async (control) => /^- \w+ "[^"]+"/.exec(await control.ariaSnapshot())?.[0]));
    expect(names).toEqual(['- radio "Set to"', '- radio "Adjust by"', '- textbox "Amount"', '- textbox "Reason"', '- textbox "API token"', '- button "Apply"']);
  });

  it('marks the stream disconnected while the server is down, and live again once it is back', async () => {
    const { dir, server, see } = await openPage();
    const port = new URL(server.url).port;

    await server.kill('SIGTERM');
    await expect.poll(see.stream).toContain('Disconnected');
    await expect.poll(see.agreement).toBe('✗ Cannot reach the service');

    const again = await startServer({ DATA_DIR: dir, PORT: port });
    await post(`${again.url}/virtual_balance`, { balance: 555 });
    // EventSource retries on its own, about every 3 s.
    await expect.poll(see.stream, { timeout: 10_000 }).toContain('Live');
    await expect.poll(see.balance).toBe('555');
    await expect.poll(see.agreement).toBe('✓ The files agree');
  });
});

/** A journal of `count` changes over the last three days, so the chart has a line to draw. */
function journalOfThreeDays(count: number): string {
  const reasons = ['BTCUSDT trade closed', 'ETHUSDT trade closed', 'funding fee', 'SOLUSDT trade closed'];
  const step = (3 * 24 * 3600_000) / count;
  const start = Date.now() - 3 * 24 * 3600_000;
  let cents = 1_000_000;
  const lines = [];
  for (let revision = 1; revision <= count; revision++) {
    const previous = revision === 1 ? null : cents / 100;
    // A fixed wobble rather than randomness: the screenshot only changes when the page does.
    if (revision > 1) cents += Math.round(Math.sin(revision * 1.7) * 9_000 + Math.cos(revision * 0.3) * 4_000);
    const source = revision === 1 ? 'startup' : revision % 9 === 0 ? `external:${ATS}` : 'api';
    const reason = source === 'api' ? reasons[revision % reasons.length] : undefined;
    lines.push(JSON.stringify({ revision, at: new Date(start + revision * step).toISOString(), balance: cents / 100, previous, source, reason }));
  }
  return `${lines.join('\n')}\n`;
}

describe.runIf(process.env.SCREENSHOTS === '1' && !browserMissing)('screenshots for the docs (SCREENSHOTS=1)', () => {
  const browser = useBrowser();

  it('writes docs/operator-page.png and docs/operator-page-phone.png', async () => {
    const dir = await tempDir();
    await writeFile(join(dir, 'balance_journal.jsonl'), journalOfThreeDays(40));
    const server = await startServer({ DATA_DIR: dir });
    await post(`${server.url}/virtual_balance`, { delta: '-25.5', reason: 'BTCUSDT trade closed' });
    await mkdir('docs', { recursive: true });

    for (const [viewport, file] of [
      [DESKTOP, 'docs/operator-page.png'],
      [PHONE, 'docs/operator-page-phone.png'],
    ] as const) {
      const { page, errors } = await browser.open(`${server.url}/balance-sync/`, { viewport });
      await expect.poll(() => page.locator('#stream-state').textContent()).toContain('Live');
      await expect.poll(() => page.locator('#changes tr').count()).toBe(20);
      await expect.poll(() => page.locator('#agreement').textContent()).toBe('✓ The files agree');
      await page.screenshot({ path: file, fullPage: true });
      expect(errors).toEqual([]);
    }
  });
});
