import { chmod, lstat, mkdir, open, readdir, readFile, stat, symlink, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { asAmount } from '../../src/domain/amount.ts';
import { FileChangedError } from '../../src/domain/ports.ts';
import { BalanceFile, tradingStateShape, balanceFileShape } from '../../src/store/balance-file.ts';
import { tempDir } from '../helpers/temp-dir.ts';

const units = (n: number) => asAmount(BigInt(Math.round(n * 1e8)));
const record = { balance: units(15000), revision: 3, updatedAt: '2026-11-23T10:00:00.000Z' };
const write = async (store: BalanceFile, next: typeof record) => (await store.prepare(next)).commit();

async function fileWith(shape: typeof balanceFileShape, text: string | null) {
  const path = join(await tempDir(), shape === balanceFileShape ? 'virtual_balance.json' : 'auto_trading_state.json');
  if (text !== null) await writeFile(path, text);
  return { path, store: new BalanceFile(path, shape) };
}

describe('reading the legacy files', () => {
  it.each([
    ['the legacy shape', '{"balance": 15000.0, "last_updated": "2025-06-23T08:03:49.376726"}', 15000],
    ['a numeric string', '{"balance": "15000.50"}', 15000.5],
    ['a zoned last_updated', '{"balance": 1, "last_updated": "2025-06-23T08:03:49+02:00"}', 1],
    ['a bare number', '12346', 12346],
    ['a float artefact of the legacy writer', '{"balance": 9989.760000000001}', 9989.76],
  ])('reads %s from virtual_balance.json', async (_what, text, balance) => {
    const { store } = await fileWith(balanceFileShape, text);
    expect((await store.read()).state).toMatchObject({ status: 'valid', balance: units(balance) });
  });

  it('treats an object without a balance key as holding no balance, not as corrupt', async () => {
    const { store } = await fileWith(tradingStateShape, '{"enabled": true}');
    expect((await store.read()).state.status).toBe('no-balance');
  });

  it.each([
    ['a balance of the wrong type', tradingStateShape, '{"balance": true, "keep": 1}'],
    ['a negative balance', tradingStateShape, '{"balance": -5}'],
    ['a balance with a thousands separator', tradingStateShape, '{"balance": "12,000.50"}'],
    ['a balance that is an array', tradingStateShape, '{"balance": [1, 2]}'],
    ['a balance that is null', balanceFileShape, '{"balance": null}'],
    ['a JSON array', balanceFileShape, '[1, 2]'],
    ['a string that is no number', balanceFileShape, '"twelve thousand"'],
    ['null', balanceFileShape, 'null'],
  ])('calls %s an unreadable balance: not corrupt, but not "no balance" either', async (_what, shape, text) => {
    const { store } = await fileWith(shape, text);
    expect((await store.read()).state.status).toBe('unreadable');
  });

  it.each([
    ['garbage', 'garbage'],
    ['an empty file', ''],
    ['truncated JSON', '{"balance": 1'],
    ['a JSON array', '[1, 2]'],
    ['a bare number', '15000'],
  ])('calls a trading state holding %s corrupt', async (_what, text) => {
    const { store } = await fileWith(tradingStateShape, text);
    expect((await store.read()).state.status).toBe('corrupt');
  });

  it('reports a missing file as missing', async () => {
    const { store } = await fileWith(tradingStateShape, null);
    expect((await store.read()).state.status).toBe('missing');
  });
});

describe('writing', () => {
  it('keeps the fields of a file that held no balance, and adds it', async () => {
    const { path, store } = await fileWith(tradingStateShape, '{"balance": true, "keep": [1.0]}');
    await store.read();
    await write(store, record);
    const text = await readFile(path, 'utf8');
    expect(JSON.parse(text)).toMatchObject({ balance: 15000, keep: [1], _balance_sync: { revision: 3 } });
    expect(text).toContain('"keep": [1.0]');
  });

  it('turns a bare-number balance file into the legacy object shape', async () => {
    const { path, store } = await fileWith(balanceFileShape, '12346');
    await store.read();
    await write(store, record);
    expect(JSON.parse(await readFile(path, 'utf8'))).toEqual({ balance: 15000, last_updated: record.updatedAt, _balance_sync: { revision: 3, updated_at: record.updatedAt, write: expect.any(String) } });
  });

  it('recognises its own write, byte for byte, when it reads it back', async () => {
    const { store } = await fileWith(tradingStateShape, '{"balance": 1}');
    await store.read();
    await write(store, record);
    expect(await store.read()).toMatchObject({ isOwnWrite: true, state: { status: 'valid', revision: 3 } });
  });

  it('refuses to overwrite a version of the file it has not read', async () => {
    const { path, store } = await fileWith(tradingStateShape, '{"balance": 1}');
    await store.read();
    await writeFile(path, '{"balance": 2, "written": "by someone else"}');
    await expect(write(store, record)).rejects.toThrow(FileChangedError);
    expect(JSON.parse(await readFile(path, 'utf8'))).toEqual({ balance: 2, written: 'by someone else' });
    expect(await readdir(dirname(path))).toEqual(['auto_trading_state.json']); // its temp file is gone too
  });

  it('writes through a symlink to the file it points to, keeping the link', async () => {
    const dir = await tempDir();
    await mkdir(join(dir, 'real'));
    const real = join(dir, 'real', 'state.json');
    const path = join(dir, 'auto_trading_state.json');
    await writeFile(real, '{"balance": 1, "keep": true}');
    await symlink(real, path);
    const store = new BalanceFile(path, tradingStateShape);
    await store.read();
    await write(store, record);
    expect((await lstat(path)).isSymbolicLink()).toBe(true);
    expect(JSON.parse(await readFile(real, 'utf8'))).toMatchObject({ balance: 15000, keep: true });
  });

  it('writes through a symlink that points at nothing yet, creating its target and keeping the link', async () => {
    const dir = await tempDir();
    await mkdir(join(dir, 'real'));
    const real = join(dir, 'real', 'state.json');
    const path = join(dir, 'auto_trading_state.json');
    await symlink(real, path);
    const store = new BalanceFile(path, tradingStateShape);
    expect((await store.read()).state).toEqual({ status: 'missing' });
    await write(store, record);
    expect((await lstat(path)).isSymbolicLink()).toBe(true);
    expect(JSON.parse(await readFile(real, 'utf8'))).toMatchObject({ balance: 15000 });
  });

  it('keeps a mode someone gave the file after it was read', async () => {
    const { path, store } = await fileWith(tradingStateShape, '{"balance": 1}');
    await store.read();
    await chmod(path, 0o640);
    await write(store, record);
    expect((await stat(path)).mode & 0o777).toBe(0o640);
  });
});


describe('no outside write is lost to a rename', () => {
  it('finds a write that lands between the last look and the rename, in the version the rename replaced', async () => {
    const { path, store } = await fileWith(tradingStateShape, '{"balance": 1, "enabled": false}');
    await store.read();
    const prepared = await store.prepare(record);
    await prepared.lastLook();
    await writeFile(path, '{"balance": 1, "enabled": true}'); // a legacy open('w') + json.dump, in that instant
    await prepared.commit();
    expect(JSON.parse(await readFile(path, 'utf8'))).toMatchObject({ balance: 15000, enabled: false });

    expect(await store.hasChanged()).toBe(true);
    const { finished } = await store.strayWrites();
    expect(finished.map((o) => o.state)).toMatchObject([{ status: 'valid', balance: units(1) }]);
    expect(store.fields()).toMatchObject({ enabled: false }); // served once a write has put it in place
    expect(store.lastSeen().balance).toBeNull(); // the file in place does not hold it yet: the next save writes it
    await write(store, { ...record, revision: 4 });
    expect(JSON.parse(await readFile(path, 'utf8'))).toMatchObject({ balance: 15000, enabled: true });
    expect(store.fields()).toMatchObject({ enabled: true });
  });

  it('finds a write by a writer that opened the file before the rename and writes after it', async () => {
    const { path, store } = await fileWith(tradingStateShape, '{"balance": 1}');
    await store.read();
    const writer = await open(path, 'r+');
    await write(store, record);
    await writer.truncate(0);
    await writer.write('{"balance": 2, "late": true}', 0);
    await writer.close();
    expect((await store.strayWrites()).finished.map((o) => o.state)).toMatchObject([{ status: 'valid', balance: units(2) }]);
    await write(store, { ...record, revision: 4 });
    expect(store.fields()).toMatchObject({ late: true });
  });

  it("merges a stalled writer's finished write although the service saved the file many times since the heal", async () => {
    const { path, store } = await fileWith(tradingStateShape, '{"balance": 1}');
    const dir = dirname(path);
    await store.read();
    const writer = await open(path, 'w'); // truncates: a legacy write begins, and stalls half-way
    await writer.write('{"balance": 1, "tick"');
    expect((await store.read()).state.status).toBe('corrupt');
    const copy = await store.keepCopy();
    await write(store, record); // the heal
    // The service's own saves go on while the writer is stalled: API changes, one every 20 ms.
    for (let revision = 4; revision < 10; revision++) {
      await new Promise((resolve) => setTimeout(resolve, 20));
      await write(store, { ...record, revision });
    }
    await writer.write(': 7}');
    await writer.close();

    expect(await store.hasChanged()).toBe(true);
    const { finished } = await store.strayWrites();
    expect(finished.map((o) => o.state)).toMatchObject([{ status: 'valid', balance: units(1) }]);
    expect(await readdir(dir)).toContain(copy);
    await write(store, { ...record, revision: 10 });
    expect(store.fields()).toMatchObject({ tick: 7 });
    expect(JSON.parse(await readFile(path, 'utf8'))).toMatchObject({ tick: 7, balance: 15000 });
    expect((await readdir(dir)).filter((name) => name.includes('.corrupt-'))).toEqual([]); // its write is whole and in place
  });

  it("keeps both writers' fields: a stalled writer's finished write, and a toggle written meanwhile over the healed file", async () => {
    const { path, store } = await fileWith(tradingStateShape, '{"balance": 1, "enabled": false}');
    await store.read();
    const writer = await open(path, 'w');
    await writer.write('{"balance": 1, "enabled": false, "tic');
    expect((await store.read()).state.status).toBe('corrupt');
    await store.keepCopy();
    await write(store, record); // the heal
    await writer.write('k": 7}'); // the stalled writer finishes, in the version the heal replaced
    await writer.close();
    const healed = JSON.parse(await readFile(path, 'utf8')); // a toggler reads the healed file, and writes its toggle
    await writeFile(path, JSON.stringify({ ...healed, enabled: true }, null, 2));

    await store.strayWrites();
    await store.read();
    await write(store, { ...record, revision: 4 });
    expect(store.fields()).toMatchObject({ tick: 7, enabled: true });
    expect(JSON.parse(await readFile(path, 'utf8'))).toMatchObject({ tick: 7, enabled: true, balance: 15000 });
  });

  it('tells its own versions apart by write, not by revision: a toggle written over the heal keeps a stray write merged since at the same revision', async () => {
    const { path, store } = await fileWith(tradingStateShape, '{"balance": 1, "enabled": false}');
    await store.read();
    const writer = await open(path, 'w');
    await writer.write('{"balance": 1, "enabled": false, "tic');
    expect((await store.read()).state.status).toBe('corrupt');
    await store.keepCopy();
    await write(store, record); // the heal, at revision 3
    await writer.write('k": 7}');
    await writer.close();
    const healed = JSON.parse(await readFile(path, 'utf8')); // a toggler reads the heal...
    await store.strayWrites();
    await write(store, record); // ...while the stray write is merged, still at revision 3 (no balance changed)
    await writeFile(path, JSON.stringify({ ...healed, enabled: true }, null, 2)); // ...and then writes its toggle

    await store.read();
    await write(store, { ...record, revision: 4 });
    expect(JSON.parse(await readFile(path, 'utf8'))).toMatchObject({ tick: 7, enabled: true });
  });

  it("keeps a symlinked file's corrupt bytes as a copy inside the data folder, renaming nothing outside it", async () => {
    const dir = await tempDir();
    const outside = await tempDir();
    const target = join(outside, 'state.json');
    await writeFile(target, 'not json, and not ours to move');
    const path = join(dir, 'auto_trading_state.json');
    await symlink(target, path);
    const store = new BalanceFile(path, tradingStateShape);
    expect((await store.read()).state.status).toBe('corrupt');
    const copy = await store.keepCopy();
    expect(copy).toMatch(/^auto_trading_state\.json\.corrupt-\d{8}T\d{6}\.\d{3}Z$/);
    await write(store, record);

    expect(await readFile(join(dir, copy), 'utf8')).toBe('not json, and not ours to move');
    expect(await readdir(outside)).toEqual(['state.json']);
    expect((await lstat(path)).isSymbolicLink()).toBe(true);
    expect(JSON.parse(await readFile(target, 'utf8'))).toMatchObject({ balance: 15000 });
  });

  it('keeps the copy of a file whose balance it could not read after writing the balance into it', async () => {
    const { path, store } = await fileWith(balanceFileShape, '{"balance": "12,000.50"}');
    await store.read();
    const copy = await store.keepCopy();
    await write(store, record);
    expect(await readFile(join(dirname(path), copy), 'utf8')).toBe('{"balance": "12,000.50"}');
  });

  it('keeps a byte-order mark, and knows its own write with it', async () => {
    const { path, store } = await fileWith(tradingStateShape, '\uFEFF{"balance": 1, "keep": 1.0}');
    expect((await store.read()).state).toMatchObject({ status: 'valid', balance: units(1) });
    await write(store, record);
    const text = await readFile(path, 'utf8');
    expect(text).toMatch(/^\uFEFF\{"balance": 15000, "keep": 1\.0, "_balance_sync": \{"revision":3,"updated_at":"2026-11-23T10:00:00\.000Z","write":"[\w-]+"\}\}$/);
    expect(await store.read()).toMatchObject({ isOwnWrite: true });
  });
});
