// The operator page across hosts (DATABASE_URL): the account's hosts with their revisions, and a
// change made on another host shown live, with the host it was made on.
// (Code that runs in the page is passed as strings: this project's TypeScript has no DOM types.)

import { describe, expect, it } from 'vitest';
import { browserMissing, useBrowser } from '../helpers/browser.ts';
import { freshDatabase, postgresMissing } from '../helpers/postgres.ts';
import { json, post, startServer } from '../helpers/server-process.ts';
import { tempDir } from '../helpers/temp-dir.ts';

describe.skipIf(browserMissing || postgresMissing)('the operator page across hosts, in Chromium', () => {
  const browser = useBrowser();

  it('lists both hosts with their revisions, and follows a change made on the other host, naming it', async () => {
    const url = await freshDatabase();
    const a = await startServer({ DATA_DIR: await tempDir(), DATABASE_URL: url, HOST_ID: 'dashboard-host' });
    const b = await startServer({ DATA_DIR: await tempDir(), DATABASE_URL: url, HOST_ID: 'bot-host-2' });
    const { page, errors } = await browser.open(`${a.url}/balance-sync/`);
    await page.locator('#hosts li').nth(1).waitFor({ timeout: 10_000 });
    expect(await page.locator('#hosts-summary').textContent()).toBe('2 hosts seen in the last minute');
    expect(await page.locator('#hosts').textContent()).toMatch(/bot-host-2.*revision 1.*dashboard-host.*revision 1/s);

    const { body } = await post(`${b.url}/virtual_balance`, { delta: '-2.5', reason: 'closed on the bot host' });
    await expect.poll(() => page.locator('#revision').textContent(), { timeout: 2_000 }).toBe(String(body.revision));
    expect(await page.locator('#balance').textContent()).toBe('9,997.5');
    // The changes table asks for the history once the event is in: it follows the revision, not with it.
    await expect.poll(() => page.locator('#changes tr').first().textContent(), { timeout: 2_000 }).toContain('API on bot-host-2');
    expect((await json(`${a.url}/health`)).body.store).toEqual({ kind: 'postgres', reachable: true });
    expect(errors).toEqual([]);
  });
});
