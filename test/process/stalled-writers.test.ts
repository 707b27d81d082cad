import { open as openFile, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { json, post, startServer } from '../helpers/server-process.ts';
import { ATS, VB } from '../helpers/service.ts';
import { readJson, tempDir, writeJson } from '../helpers/temp-dir.ts';
import { waitFor } from '../helpers/wait.ts';

/** A busy legacy process: open('w') truncates, half the JSON is written, the writer stalls, then finishes. */
async function stalledWrite(path: string, state: object, stallMs: number): Promise<number> {
  const text = JSON.stringify(state, null, 2);
  const handle = await openFile(path, 'w');
  await handle.write(text.slice(0, text.length / 2));
  await new Promise((resolve) => setTimeout(resolve, stallMs));
  await handle.write(text.slice(text.length / 2));
  await handle.close();
  return performance.now();
}

const tradeLog = Array.from({ length: 50 }, (_, id) => ({ id, symbol: 'BTCUSDT', pnl: id - 25 }));

describe('a legacy writer that stalls half-way through a write', () => {
  it.each([1_000, 3_000, 4_500])('loses nothing when it stalls %i ms: its write is adopted within 1 s of finishing', async (stallMs) => {
    const dir = await tempDir();
    await writeJson(join(dir, ATS), { enabled: false, symbol: 'BTCUSDT', balance: 100 });
    const server = await startServer({ DATA_DIR: dir });
    const written = { enabled: true, symbol: 'ETHUSDT', balance: 333.33, trade_log: tradeLog };

    const finished = await stalledWrite(join(dir, ATS), written, stallMs);
    const { value: balance } = await waitFor(async () => {
      const { body } = await json(`${server.url}/virtual_balance`);
      return body.balance === 333.33 ? performance.now() : undefined;
    }, 2_000, 'the stalled write');
    expect(balance - finished).toBeLessThan(1_000);

    expect((await json(`${server.url}/auto_trading/status`)).body.data).toEqual({ ...written, balance: 333.33 });
    expect(await readJson(join(dir, ATS))).toMatchObject(written);
    await waitFor(async () => (await readJson(join(dir, VB))).balance === 333.33, 1_000, 'the balance file');
    // The half-written file was quarantined during the stall, then put back once the writer finished it.
    expect(server.logs.some((l) => String(l.msg).includes('quarantined'))).toBe(true);
    expect(server.logs.some((l) => String(l.msg).includes('stalled writer'))).toBe(true);
    expect((await readdir(dir)).filter((name) => name.includes('.corrupt-'))).toEqual([]);
  });

  it('keeps an acknowledged balance when the stalled write turns out to be a stale copy, and keeps its other fields', async () => {
    const dir = await tempDir();
    await writeJson(join(dir, ATS), { enabled: false, balance: 1000 });
    const server = await startServer({ DATA_DIR: dir });
    const cached = await readJson(join(dir, ATS));

    const writing = stalledWrite(join(dir, ATS), { ...cached, enabled: true }, 1_500);
    await waitFor(async () => (await readdir(dir)).some((name) => name.includes('.corrupt-')), 2_000, 'the quarantine');
    expect((await post(`${server.url}/virtual_balance`, { balance: 5000 })).status).toBe(200);
    await writing;

    await waitFor(async () => (await json(`${server.url}/auto_trading/status`)).body.data.enabled === true, 1_000, 'the toggle');
    expect((await json(`${server.url}/virtual_balance`)).body.balance).toBe(5000);
    await waitFor(async () => (await readJson(join(dir, ATS))).balance === 5000, 1_000, 'the balance written back');
    expect(await readJson(join(dir, ATS))).toMatchObject({ enabled: true });
  });
});

describe('a legacy write that lands in a version the service just replaced', () => {
  it('is merged before a SIGTERM lets the process go: that version was only held by it, and the next start could not find it', async () => {
    const dir = await tempDir();
    await writeJson(join(dir, ATS), { enabled: false, symbol: 'BTCUSDT', balance: 100 });
    const server = await startServer({ DATA_DIR: dir });
    // A legacy writer resolves the path (opens the file) just before a save renames a new version over it...
    const handle = await openFile(join(dir, ATS), 'r+');
    expect((await post(`${server.url}/virtual_balance`, { delta: 10 })).status).toBe(200);
    // ...then books +7 on what it read, into the version the rename replaced, and the service is stopped at once.
    const read = JSON.parse((await handle.readFile()).toString('utf8')) as Record<string, unknown>;
    await handle.truncate(0);
    await handle.write(JSON.stringify({ ...read, balance: 107, enabled: true }), 0);
    await handle.close();
    expect(await server.kill('SIGTERM')).toBe(0);
    const again = await startServer({ DATA_DIR: dir });
    expect((await json(`${again.url}/virtual_balance`)).body.balance).toBe(117);
    expect((await json(`${again.url}/auto_trading/status`)).body.data).toMatchObject({ enabled: true, balance: 117 });
  });
});
