import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { json, startServer } from '../helpers/server-process.ts';
import { tempDir } from '../helpers/temp-dir.ts';

/** The Python block the README shows the seed-era trader, as it stands there. */
async function snippet(): Promise<string> {
  const readme = await readFile(join(import.meta.dirname, '..', '..', 'README.md'), 'utf8');
  const marker = readme.indexOf('<!-- legacy-trader-snippet');
  const block = /```python\n([\s\S]*?)```/.exec(readme.slice(marker))?.[1];
  if (marker < 0 || block === undefined) throw new Error('the README has no legacy-trader snippet');
  return block.replace(/^ {2}/gm, ''); // indented under its list item
}

describe("the README's change to the seed-era trader", () => {
  it('books each trade through POST /virtual_balance exactly once, a retried trade id included, on top of API changes', async () => {
    const dir = await tempDir();
    const server = await startServer({ DATA_DIR: dir, INITIAL_BALANCE: '10000' });
    const script = `${await snippet()}
AUTO_TRADING_STATE = {"balance": 10000}
for trade_id, pnl in [("8812", -25.5), ("8812", -25.5), ("8813", 0.1 + 0.2)]:
    AUTO_TRADING_STATE["balance"] = book_trade(trade_id, pnl)
    print(json.dumps(AUTO_TRADING_STATE["balance"]), flush=True)
`;
    const run = () => promisify(execFile)('python3', ['-c', script], { env: { ...process.env, BALANCE_SYNC_URL: server.url } });
    const { stdout } = await run();
    expect(stdout.trim().split('\n').map(Number)).toEqual([9974.5, 9974.5, 9974.8]);

    // An API change meanwhile; the trader's whole run again (a restart replaying its trades): nothing twice.
    await fetch(`${server.url}/virtual_balance`, { method: 'POST', body: '{"delta": 100}' });
    expect((await run()).stdout.trim().split('\n').map(Number)).toEqual([9974.5, 9974.5, 9974.8]);
    expect((await json(`${server.url}/virtual_balance`)).body.balance).toBe(10074.8);
    const { entries } = (await json(`${server.url}/virtual_balance/history?limit=10`)).body;
    expect(entries.filter((e: { idempotency_key?: string }) => e.idempotency_key?.startsWith('trade-'))).toHaveLength(2);
  });
});
