import { open as openFile, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import request from 'supertest';
import { afterEach, describe, expect, it } from 'vitest';
import type { Log } from '../../src/domain/ports.ts';
import { ATS, openService, type TestService } from '../helpers/service.ts';
import { readJson, tempDir } from '../helpers/temp-dir.ts';
import { waitFor } from '../helpers/wait.ts';

let service: TestService | undefined;
afterEach(async () => {
  await service?.close();
  service = undefined;
});

const warnings: { details: Record<string, unknown>; message: string }[] = [];
const log: Log = { debug() {}, info() {}, error() {}, warn: (details, message) => void warnings.push({ details: details as Record<string, unknown>, message }) };

async function open(seed: object) {
  warnings.length = 0;
  const dir = await tempDir();
  await writeFile(join(dir, ATS), JSON.stringify(seed, null, 2));
  service = await openService(dir, { service: { log }, watch: true });
  return { dir, app: service.app };
}

/** The legacy backend's way: the whole dict, dumped over the file non-atomically. */
async function legacyDump(path: string, state: object) {
  const handle = await openFile(path, 'w');
  await handle.write(JSON.stringify(state, null, 2));
  await handle.close();
}

const status = async (app: TestService['app']) => (await request(app).get('/auto_trading/status')).body.data as Record<string, unknown>;

describe('stale write-backs by a legacy process that cached the trading state', () => {
  it('keeps the acknowledged balance, adopts the toggle, writes the balance back and says so', async () => {
    const { dir, app } = await open({ enabled: false, symbol: 'BTCUSDT', balance: 1000 });
    const cached = await readJson(join(dir, ATS)); // the legacy process loads the state once: revision 1
    expect(cached._balance_sync).toMatchObject({ revision: 1 });
    const acked = await request(app).post('/virtual_balance').send({ balance: 5000 }).expect(200);
    expect(acked.body.revision).toBe(2);

    await legacyDump(join(dir, ATS), { ...cached, enabled: true });

    await waitFor(async () => (await status(app)).enabled === true, 1_000, 'the toggle');
    expect(await status(app)).toMatchObject({ enabled: true, symbol: 'BTCUSDT', balance: 5000 });
    expect((await request(app).get('/virtual_balance')).body).toMatchObject({ balance: 5000, revision: 2 });
    await waitFor(async () => (await readJson(join(dir, ATS))).balance === 5000, 1_000, 'the balance written back');
    expect(await readJson(join(dir, ATS))).toMatchObject({ enabled: true, balance: 5000, _balance_sync: { revision: 2 } });
    expect(warnings).toContainEqual({
      message: expect.stringContaining('stale write-back'),
      details: expect.objectContaining({ file: ATS, fileRevision: 1, revision: 2, fileBalance: '1000', balance: '5000' }),
    });
  });

  it('survives ten in a row, each after another acknowledged change, with alternating toggles: zero regressions', async () => {
    const { dir, app } = await open({ enabled: false, balance: 1000 });
    const cached = await readJson(join(dir, ATS));
    for (let i = 1; i <= 10; i++) {
      const balance = (100_000 + i * 11_111) / 100;
      await request(app).post('/virtual_balance').send({ balance }).expect(200);
      const enabled = i % 2 === 1;
      await legacyDump(join(dir, ATS), { ...cached, enabled });
      await waitFor(async () => (await status(app)).enabled === enabled, 1_000, `toggle ${i}`);
      expect((await request(app).get('/virtual_balance')).body.balance).toBe(balance);
      await waitFor(async () => (await readJson(join(dir, ATS))).balance === balance, 1_000, `balance ${i} written back`);
    }
    const history = (await request(app).get('/virtual_balance/history?limit=100')).body.entries as { source: string }[];
    expect(history.filter((e) => e.source.startsWith('external:'))).toEqual([]);
  });

  it('refuses the echo of a balance the same writer booked earlier: a toggle after an acknowledged change keeps that change', async () => {
    const { dir, app } = await open({ enabled: false, balance: 10000 });
    const memory = await readJson(join(dir, ATS)); // loaded once, at revision 1; never read again
    memory.balance = 10050; // the legacy process books a trade in memory and saves the whole state
    await legacyDump(join(dir, ATS), memory);
    await waitFor(async () => (await request(app).get('/virtual_balance')).body.balance === 10050, 1_000, 'the booking');
    await request(app).post('/virtual_balance').send({ balance: 20000 }).expect(200);

    await legacyDump(join(dir, ATS), { ...memory, enabled: true }); // a toggle: the whole state again
    await waitFor(async () => (await status(app)).enabled === true, 1_000, 'the toggle');
    expect((await request(app).get('/virtual_balance')).body.balance).toBe(20000);
    await waitFor(async () => (await readJson(join(dir, ATS))).balance === 20000, 1_000, 'the balance written back');
  });

  it('books a write-back whose balance differs from its revision\'s: its difference, on top of the change acknowledged since', async () => {
    const { dir, app } = await open({ enabled: false, balance: 1000 });
    const cached = await readJson(join(dir, ATS));
    await request(app).post('/virtual_balance').send({ balance: 5000 }).expect(200);
    await legacyDump(join(dir, ATS), { ...cached, balance: 777, enabled: true });
    await waitFor(async () => (await request(app).get('/virtual_balance')).body.balance === 4777, 1_000, 'the booking of -223');
    expect((await request(app).get('/virtual_balance')).body.revision).toBe(3);
    const [entry] = (await request(app).get('/virtual_balance/history?limit=1')).body.entries;
    expect(entry).toMatchObject({ source: `external:${ATS}`, balance: 4777, previous: 5000, reason: expect.stringContaining('revision 1') });
  });

  it('adopts a write-back without the service\'s revision (a hand edit)', async () => {
    const { dir, app } = await open({ enabled: false, balance: 1000 });
    await request(app).post('/virtual_balance').send({ balance: 5000 }).expect(200);
    await writeFile(join(dir, ATS), '{"enabled": true, "balance": 1000}');
    await waitFor(async () => (await request(app).get('/virtual_balance')).body.balance === 1000, 1_000, 'the hand edit');
    expect(JSON.parse(await readFile(join(dir, ATS), 'utf8'))).toMatchObject({ enabled: true, balance: 1000 });
  });
});

describe('two legacy bookers, one after the other (an attacker found a booking refused as an echo)', () => {
  it('counts a booking whose balance equals the result of an earlier booking it read: both bookings and the API change count', async () => {
    const { dir, app } = await open({ enabled: true, balance: 1000 });
    const slow = await readJson(join(dir, ATS)); // S reads revision 1: 1000
    await request(app).post('/virtual_balance').send({ delta: 1 }).expect(200); // 1001, revision 2
    const quick = await readJson(join(dir, ATS)); // R reads revision 2: 1001

    await legacyDump(join(dir, ATS), { ...slow, balance: 1001 }); // S books +1 on what it read
    await waitFor(async () => (await request(app).get('/virtual_balance')).body.balance === 1002, 1_000, "S's booking on top of the API change");
    await legacyDump(join(dir, ATS), { ...quick, balance: 1002 }); // R books +1 on what it read

    await waitFor(async () => (await request(app).get('/virtual_balance')).body.balance === 1003, 1_000, "R's booking counted too");
    expect(warnings.filter((w) => w.message.startsWith('refused a stale write-back'))).toEqual([]);
    const [newest] = (await request(app).get('/virtual_balance/history?limit=1')).body.entries;
    expect(newest).toMatchObject({ balance: 1003, written: 1002, source: `external:${ATS}` });
  });

  it('still refuses the echo of a writer that never re-reads, after a restart (its written balance, from the journal)', async () => {
    const { dir, app } = await open({ enabled: false, balance: 1000 });
    const cached = await readJson(join(dir, ATS)); // revision 1: 1000
    await request(app).post('/virtual_balance').send({ delta: 5 }).expect(200); // 1005
    await legacyDump(join(dir, ATS), { ...cached, balance: 1001 }); // a +1 booking on revision 1: 1006
    await waitFor(async () => (await request(app).get('/virtual_balance')).body.balance === 1006, 1_000, 'the booking');
    await service!.close();
    service = await openService(dir, { service: { log }, watch: true });
    await legacyDump(join(dir, ATS), { ...cached, balance: 1001, enabled: true }); // its own last booking, written back with a toggle
    await waitFor(async () => (await status(service!.app)).enabled === true, 1_000, 'the toggle');
    expect((await request(service.app).get('/virtual_balance')).body.balance).toBe(1006);
  });
});
