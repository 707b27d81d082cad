import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { postDeltas } from '../helpers/api-load.ts';
import { runLegacyTrader } from '../helpers/legacy-trader.ts';
import { json, startServer } from '../helpers/server-process.ts';
import { ATS, VB } from '../helpers/service.ts';
import { tempDir, writeJson } from '../helpers/temp-dir.ts';
import { waitFor } from '../helpers/wait.ts';

const balanceOf = async (url: string): Promise<number> => (await json(`${url}/virtual_balance`)).body.balance;
const fileBalance = async (path: string): Promise<number> => JSON.parse(await readFile(path, 'utf8')).balance;

describe('a legacy trader booking the legacy way beside API changes', () => {
  it('keeps every booking and every acknowledged delta, in 20 runs out of 20', async () => {
    const dir = await tempDir();
    await writeJson(join(dir, ATS), { enabled: true, symbol: 'BTCUSDT', balance: 10000 });
    const server = await startServer({ DATA_DIR: dir });

    for (let run = 1; run <= 20; run++) {
      const start = await balanceOf(server.url);
      // Re-reads right before every write, books a trade every ~30 ms, and saves both files the seed-era way.
      const trader = runLegacyTrader<{ booked: number }>(['book', dir, 12, 0.03]);
      const [api] = await Promise.all([postDeltas(server.url, { clients: 4, total: 60 }), trader.done]);
      const booked = trader.events.reduce((sum, { booked }) => sum + booked, 0);

      const expected = start + api.acked + booked;
      expect(api.failures).toEqual([]);
      const settled = await waitFor(async () => ((await balanceOf(server.url)) === expected ? true : undefined), 2_000, `run ${run}: ${expected}`).catch(
        async () => ({ value: `run ${run}: ${await balanceOf(server.url)} served, ${expected} expected (start ${start}, ${api.acked} deltas, ${booked} booked)` }),
      );
      expect(settled.value, `run ${run}`).toBe(true);
      await waitFor(async () => (await fileBalance(join(dir, VB))) === expected && (await fileBalance(join(dir, ATS))) === expected, 2_000, 'both files');
    }
    expect(server.logs.some((line) => String(line.msg).startsWith('a legacy booking'))).toBe(true);
    expect(server.logs.some((line) => String(line.msg).startsWith('the same legacy save arrived in both files'))).toBe(true);
  });
});
