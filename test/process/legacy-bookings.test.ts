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

describe('a legacy save that writes the balance file first (save_virtual_balance), then the trading state', () => {
  it.each([0.1, 0.3, 0.7])('counts the booking once when the trading state follows %s s later (it was counted twice)', async (gap) => {
    const dir = await tempDir();
    await writeJson(join(dir, ATS), { enabled: true, balance: 1000 });
    const server = await startServer({ DATA_DIR: dir });
    const state = JSON.parse(await readFile(join(dir, ATS), 'utf8')); // read at revision 1: 1000
    await writeJson(join(dir, VB), { balance: 1002.5, last_updated: '2026-11-28T23:59:00.000000' }); // the legacy shape: no revision
    await waitFor(async () => ((await balanceOf(server.url)) === 1002.5 ? true : undefined), 2_000, 'the balance file adopted');
    await new Promise((resolve) => setTimeout(resolve, gap * 1000)); // the legacy save's own pace between its two writes
    await writeJson(join(dir, ATS), { ...state, balance: 1002.5, last_trade: 'T-1' });
    await waitFor(() => server.logs.find((line) => line.msg === 'the same legacy save arrived in both files: counted once' && line.file === ATS), 2_000, 'the second arrival judged');
    expect(await balanceOf(server.url)).toBe(1002.5);
    expect((await json(`${server.url}/auto_trading/status`)).body.data).toMatchObject({ last_trade: 'T-1', balance: 1002.5 });
  });
});

describe('a legacy booking made while the service was stopped (an attacker found it adopted as written)', () => {
  it.each(['SIGTERM', 'SIGKILL'] as const)('after %s: counted on top of the acknowledged balance at the next start, and an echo of it later books nothing', async (signal) => {
    const dir = await tempDir();
    await writeJson(join(dir, ATS), { enabled: true, balance: 1000 });
    const first = await startServer({ DATA_DIR: dir });
    const read = JSON.parse(await readFile(join(dir, ATS), 'utf8')); // the legacy process reads revision 1: 1000
    expect((await json(`${first.url}/virtual_balance`, { method: 'POST', body: '{"delta": 5}' })).body).toMatchObject({ balance: 1005 });
    await first.kill(signal);
    await writeJson(join(dir, ATS), { ...read, balance: 1001 }); // +1 booked on what it read, while nobody watched

    const second = await startServer({ DATA_DIR: dir });
    expect(await balanceOf(second.url)).toBe(1006);
    expect(second.logs.find((line) => line.msg === 'balance reconciled')).toMatchObject({ reason: expect.stringContaining('a legacy booking made while the service was stopped') });
    // The same writer saves again with its booking and a toggle: an echo, not a second booking.
    await writeJson(join(dir, ATS), { ...read, balance: 1001, enabled: false });
    await waitFor(async () => (await json(`${second.url}/auto_trading/status`)).body.data.enabled === false, 2_000, 'the toggle');
    expect(await balanceOf(second.url)).toBe(1006);
  });
});
