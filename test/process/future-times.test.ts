import { existsSync } from 'node:fs';
import { readFile, stat, utimes, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { json, post, startServer } from '../helpers/server-process.ts';
import { ATS, VB } from '../helpers/service.ts';
import { tempDir } from '../helpers/temp-dir.ts';

const HOUR = 60 * 60 * 1000;
const LIBFAKETIME = ['/usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1', '/usr/lib/aarch64-linux-gnu/faketime/libfaketime.so.1', '/usr/lib/faketime/libfaketime.so.1'].find((path) => existsSync(path));

/** A legacy trader booking into the trading state while the service is stopped: read, add, write back. */
async function legacyBooking(dir: string, pnl: number) {
  const state = JSON.parse(await readFile(join(dir, ATS), 'utf8'));
  await writeFile(join(dir, ATS), JSON.stringify({ ...state, balance: state.balance + pnl }, null, 2));
}

describe('times in the future at start-up', () => {
  it("a balance file touched an hour ahead does not beat a later legacy booking, and no future mtime survives the start", async () => {
    const dir = await tempDir();
    let server = await startServer({ DATA_DIR: dir });
    expect((await post(`${server.url}/virtual_balance`, { balance: 5000 })).status).toBe(200);
    await server.kill('SIGTERM');
    const ahead = new Date(Date.now() + HOUR);
    await utimes(join(dir, VB), ahead, ahead); // touch -d '+1 hour' virtual_balance.json
    await legacyBooking(dir, 100);

    server = await startServer({ DATA_DIR: dir });
    expect((await json(`${server.url}/virtual_balance`)).body.balance).toBe(5100);
    expect(server.logs.find((l) => l.level === 40 && l.source === VB)?.msg).toMatch(/time in the future/);
    for (const name of [VB, ATS]) expect((await stat(join(dir, name))).mtimeMs).toBeLessThan(Date.now() + 5_000);
    expect(JSON.parse(await readFile(join(dir, VB), 'utf8')).balance).toBe(5100);

    await server.kill('SIGTERM');
    server = await startServer({ DATA_DIR: dir });
    expect((await json(`${server.url}/virtual_balance`)).body.balance).toBe(5100);
  });

  it('a start writes both files even when they agree, so a future mtime does not survive it', async () => {
    const dir = await tempDir();
    let server = await startServer({ DATA_DIR: dir });
    await server.kill('SIGTERM');
    const ahead = new Date(Date.now() + HOUR);
    await utimes(join(dir, VB), ahead, ahead);
    server = await startServer({ DATA_DIR: dir });
    expect((await stat(join(dir, VB))).mtimeMs).toBeLessThan(Date.now() + 5_000);
  });

  it.skipIf(!LIBFAKETIME)('a journal written while the clock ran an hour ahead does not beat a later legacy edit', async () => {
    const dir = await tempDir();
    let server = await startServer({ DATA_DIR: dir, LD_PRELOAD: LIBFAKETIME as string, FAKETIME: '+1h' });
    expect((await post(`${server.url}/virtual_balance`, { balance: 5000 })).status).toBe(200);
    await server.kill('SIGKILL');
    await legacyBooking(dir, 2000);

    server = await startServer({ DATA_DIR: dir });
    expect((await json(`${server.url}/virtual_balance`)).body.balance).toBe(7000);
    expect(server.logs.some((l) => l.level === 40 && l.source === 'journal' && String(l.msg).includes('future'))).toBe(true);
  });
});
