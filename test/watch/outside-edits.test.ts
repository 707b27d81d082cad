import { lstat, open as openFile, readdir, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import request from 'supertest';
import { afterEach, describe, expect, it } from 'vitest';
import writeFileAtomic from 'write-file-atomic';
import { ATS, openService, VB, type TestService } from '../helpers/service.ts';
import { readJson, tempDir } from '../helpers/temp-dir.ts';
import { waitFor } from '../helpers/wait.ts';

let service: TestService | undefined;
afterEach(async () => {
  await service?.close();
  service = undefined;
});

async function open(seedState?: object) {
  const dir = await tempDir();
  if (seedState) await writeFile(join(dir, ATS), JSON.stringify(seedState, null, 2));
  service = await openService(dir, { watch: true });
  await service.balance.sync();
  return { dir, app: service.app };
}

const served = async (app: TestService['app']) => (await request(app).get('/virtual_balance')).body as { balance: number; revision: number };

/** How the legacy Python backend writes: open('w') truncates, then json.dump writes, not atomically. */
async function legacyWrite(path: string, value: unknown, pauseMs = 0) {
  const handle = await openFile(path, 'w');
  const text = JSON.stringify(value);
  await handle.write(text.slice(0, 10));
  if (pauseMs) await new Promise((resolve) => setTimeout(resolve, pauseMs));
  await handle.write(text.slice(10));
  await handle.close();
}

describe('edits by other processes', () => {
  it.each([
    ['an atomic writer', (path: string, value: unknown) => writeFileAtomic(path, JSON.stringify(value))],
    ['a non-atomic legacy writer', (path: string, value: unknown) => legacyWrite(path, value, 30)],
  ])('adopts a balance %s puts in the trading state, writes it to the balance file, and serves it within 1 s', async (_who, write) => {
    const { dir, app } = await open({ enabled: true, balance: 100 });
    const before = await served(app);
    await write(join(dir, ATS), { enabled: true, symbol: 'ETHUSDT', balance: 250.5 });
    const { elapsedMs } = await waitFor(async () => (await served(app)).balance === 250.5, 1_000, 'the new balance');
    expect(elapsedMs).toBeLessThan(1_000);
    expect((await served(app)).revision).toBe(before.revision + 1);
    await waitFor(async () => (await readJson(join(dir, VB))).balance === 250.5, 1_000, 'the balance file');
    expect((await request(app).get('/auto_trading/status')).body.data).toMatchObject({ symbol: 'ETHUSDT', balance: 250.5 });
    expect((await readdir(dir)).some((n) => n.includes('corrupt'))).toBe(false);
  });

  it('waits out a slow legacy writer that pauses 150 ms half-way, instead of quarantining its write', async () => {
    const { dir, app } = await open({ balance: 100 });
    await legacyWrite(join(dir, ATS), { enabled: true, balance: 333, trade_log: [{ id: 1 }] }, 150);
    await waitFor(async () => (await served(app)).balance === 333, 2_000, 'the slow write');
    expect((await readdir(dir)).some((n) => n.includes('corrupt'))).toBe(false);
    expect(await readJson(join(dir, ATS))).toMatchObject({ balance: 333, trade_log: [{ id: 1 }] });
  });

  it('adopts a balance typed into the balance file by hand', async () => {
    const { dir, app } = await open();
    await writeFile(join(dir, VB), '{"balance": 4321}\n');
    await waitFor(async () => (await served(app)).balance === 4321, 1_000, 'the new balance');
    await waitFor(async () => (await readJson(join(dir, ATS))).balance === 4321, 1_000, 'the trading state');
  });

  it('shows an outside change of other trading fields without a new revision', async () => {
    const { dir, app } = await open({ enabled: false, balance: 10000 });
    const { revision } = await served(app);
    await writeFileAtomic(join(dir, ATS), JSON.stringify({ enabled: true, balance: 10000, open_trades: [{ id: 7 }] }));
    await waitFor(async () => (await request(app).get('/auto_trading/status')).body.data?.enabled === true, 1_000, 'enabled');
    expect((await request(app).get('/auto_trading/status')).body.auto_trading).toMatchObject({ open_trades: [{ id: 7 }] });
    expect((await served(app)).revision).toBe(revision);
  });

  it('never mistakes its own writes for outside edits: N changes move the revision by exactly N', async () => {
    const { app } = await open();
    const { revision } = await served(app);
    for (let i = 0; i < 10; i++) await request(app).post('/virtual_balance').send({ balance: 500 + i }).expect(200);
    // The look the watcher makes after its events, made here and waited for: it finds nothing to adopt.
    await service?.balance.syncIfChanged();
    await service?.balance.sync();
    expect(await served(app)).toMatchObject({ balance: 509, revision: revision + 10 });
    expect((await request(app).get('/virtual_balance/history?limit=20')).body.entries.filter((e: { source: string; revision: number }) => e.revision > revision && e.source !== 'api')).toEqual([]);
  });

  it.each([0, 5, 10, 20, 30, 40])('misses no outside edit landing %i ms after its own save', async (gapMs) => {
    const { dir, app } = await open({ balance: 1 });
    await request(app).post('/virtual_balance').send({ balance: 2 }).expect(200);
    await new Promise((resolve) => setTimeout(resolve, gapMs));
    await legacyWrite(join(dir, ATS), { balance: 3 });
    await waitFor(async () => (await served(app)).balance === 3, 1_000, 'the outside edit');
    await waitFor(async () => (await readJson(join(dir, VB))).balance === 3, 1_000, 'the balance file');
  });

  it('re-creates a deleted file from memory, with all its fields', async () => {
    const { dir } = await open({ enabled: true, symbol: 'BTCUSDT', balance: 10000 });
    await rm(join(dir, ATS));
    const { value } = await waitFor(async () => readJson(join(dir, ATS)).catch(() => undefined), 1_000, 'the file to come back');
    expect(value).toMatchObject({ enabled: true, symbol: 'BTCUSDT', balance: 10000 });
  });

  it('quarantines a file still invalid once stable, and rewrites it from memory', async () => {
    const { dir, app } = await open({ symbol: 'BTCUSDT', balance: 10000 });
    await writeFile(join(dir, ATS), 'garbage that stays garbage');
    const { value: aside } = await waitFor(async () => (await readdir(dir)).find((n) => n.startsWith(`${ATS}.corrupt-`)), 2_000, 'quarantine');
    expect(await readFile(join(dir, aside), 'utf8')).toBe('garbage that stays garbage');
    await waitFor(async () => (await readJson(join(dir, ATS)).catch(() => ({}) as Record<string, unknown>)).symbol === 'BTCUSDT', 1_000, 'the healed file');
    expect((await served(app)).balance).toBe(10000);
  });

  it('keeps a field another process added when it saves the next change', async () => {
    const { dir, app } = await open({ balance: 10 });
    await writeFileAtomic(join(dir, ATS), JSON.stringify({ balance: 10, added_by_trader: 'yes' }));
    await request(app).post('/virtual_balance').send({ balance: 20 }).expect(200);
    expect(await readJson(join(dir, ATS))).toMatchObject({ balance: 20, added_by_trader: 'yes' });
  });

  it('keeps a copy of an outside write whose balance cannot be read, adopts its other fields, and writes the balance back within 1 s', async () => {
    const { dir, app } = await open({ enabled: false, balance: 100 });
    const written = '{"enabled": true, "balance": "12,000.50"}';
    await writeFile(join(dir, ATS), written);
    await waitFor(async () => (await request(app).get('/auto_trading/status')).body.data?.enabled === true, 1_000, 'the other fields');
    await waitFor(async () => (await readJson(join(dir, ATS))).balance === 100, 1_000, 'the balance written back');
    const copy = (await readdir(dir)).find((n) => n.startsWith(`${ATS}.corrupt-`));
    expect(copy).toBeDefined();
    expect(await readFile(join(dir, copy as string), 'utf8')).toBe(written);
    expect((await served(app)).balance).toBe(100);
  });

  it('writes through a balance file replaced by a symlink to a non-JSON file elsewhere: its bytes copied into the data folder, nothing outside renamed', async () => {
    const { dir, app } = await open({ balance: 100 });
    const outside = await tempDir();
    const target = join(outside, 'notes.txt');
    await writeFile(target, 'not JSON: somebody else\'s file');
    await rm(join(dir, VB));
    await symlink(target, join(dir, VB));
    const { value: copy } = await waitFor(async () => (await readdir(dir)).find((n) => n.startsWith(`${VB}.corrupt-`)), 2_000, 'the copy');
    await waitFor(async () => (await readJson(target).catch(() => ({}) as Record<string, unknown>)).balance === 100, 1_000, 'the balance written through');
    expect(await readFile(join(dir, copy), 'utf8')).toBe("not JSON: somebody else's file");
    expect(await readdir(outside)).toEqual(['notes.txt']);
    expect((await lstat(join(dir, VB))).isSymbolicLink()).toBe(true);
    expect((await served(app)).balance).toBe(100);
  });
});
