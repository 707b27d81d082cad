// Another site, opened in the operator's Chromium, tries every write a browser sends without asking
// first, and a rebound DNS name tries to read: against the real server, the balance never moves.
// (Code that runs in the page is passed as strings: this project's TypeScript has no DOM types.)

import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { browserMissing, useBrowser } from '../helpers/browser.ts';
import { json, startServer } from '../helpers/server-process.ts';
import { tempDir } from '../helpers/temp-dir.ts';
import { waitFor } from '../helpers/wait.ts';

let attacker: Server | undefined;
afterEach(() => {
  attacker?.close();
  attacker = undefined;
});

/** The attacker's page: fire every simple write at `target`, each a different way. */
const attackPage = (target: string) => `<!doctype html><meta charset="utf-8"><title>cute cats</title>
<iframe name="sink1"></iframe><iframe name="sink2"></iframe><iframe name="sink3"></iframe>
<form id="plain" method="POST" action="${target}/virtual_balance" enctype="text/plain" target="sink1"><input name='{"balance":4245,"x":"' value='"}'></form>
<form id="urlencoded" method="POST" action="${target}/virtual_balance/reset" target="sink2"><input name="reason" value="pwned"></form>
<form id="multipart" method="POST" action="${target}/virtual_balance" enctype="multipart/form-data" target="sink3"><input name="balance" value="4246"></form>
<script>
  fetch('${target}/virtual_balance', { method: 'POST', mode: 'no-cors', body: '{"balance": 4242}' });
  fetch('${target}/virtual_balance', { method: 'POST', mode: 'no-cors', headers: { 'Content-Type': 'application/x-www-form-urlencoded' }, body: '{"balance": 4243}' });
  fetch('${target}/virtual_balance/reset', { method: 'POST', mode: 'no-cors', body: '{}' });
  navigator.sendBeacon('${target}/virtual_balance', '{"balance": 4244}');
  navigator.sendBeacon('${target}/virtual_balance/reset', new Blob(['{}'], { type: 'text/plain' }));
  for (const id of ['plain', 'urlencoded', 'multipart']) document.getElementById(id).submit();
</script>`;
const ATTACKS = 8;

async function serveAttacker(html: string): Promise<string> {
  attacker = createServer((_req, res) => res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' }).end(html));
  await new Promise<void>((ready) => attacker!.listen(0, '127.0.0.1', ready));
  return `http://localhost:${(attacker.address() as AddressInfo).port}/`;
}

describe.skipIf(browserMissing)('a page of another origin, in Chromium', () => {
  // The DNS of evil.example "rebound" to this machine, as an attacker's own DNS server would answer.
  const browser = useBrowser(['--host-resolver-rules=MAP evil.example 127.0.0.1']);

  it('cannot move the balance with a no-cors fetch, sendBeacon or a form, to /virtual_balance or /virtual_balance/reset', async () => {
    const server = await startServer({ DATA_DIR: await tempDir(), INITIAL_BALANCE: '10000' });
    await json(`${server.url}/virtual_balance`, { method: 'POST', body: '{"balance": 777}' });
    const before = (await json(`${server.url}/virtual_balance`)).body;

    await browser.open(await serveAttacker(attackPage(server.url)));
    // Every attempt reached the service and was refused, as its request log says.
    const refused = () => server.logs.filter((line) => (line.req as { method?: string } | undefined)?.method === 'POST' && (line.res as { statusCode?: number } | undefined)?.statusCode === 403);
    await waitFor(() => refused().length >= ATTACKS, 5_000, `${ATTACKS} refused POSTs in the log`);
    expect(refused()).toHaveLength(ATTACKS);

    const after = (await json(`${server.url}/virtual_balance`)).body;
    expect(after).toMatchObject({ balance: 777, revision: before.revision });
  });

  it('cannot read the balance under a DNS name rebound to 127.0.0.1: 421', async () => {
    const server = await startServer({ DATA_DIR: await tempDir() });
    const port = new URL(server.url).port;
    const { page } = await browser.open('about:blank');
    for (const path of ['/virtual_balance', '/auto_trading/status', '/balance-sync/']) {
      const response = await page.goto(`http://evil.example:${port}${path}`);
      expect(response?.status()).toBe(421);
      expect(await page.textContent('body')).not.toContain('"balance"');
    }
    // The same browser, under the service's own name, is served.
    expect((await page.goto(`http://localhost:${port}/virtual_balance`))?.status()).toBe(200);
  });
});
