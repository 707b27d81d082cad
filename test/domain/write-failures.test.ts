import { once } from 'node:events';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import request from 'supertest';
import { afterEach, describe, expect, it } from 'vitest';
import type { WriteStep } from '../../src/domain/balance-service.ts';
import { FaultyStore } from '../helpers/faulty-store.ts';
import { ATS, openService, VB, type TestService } from '../helpers/service.ts';
import { tempDir } from '../helpers/temp-dir.ts';

let service: TestService | undefined;
afterEach(async () => {
  await service?.close();
  service = undefined;
});

async function open() {
  const dir = await tempDir();
  let faulty: FaultyStore[] = [];
  const fault: { current: { step: WriteStep; error: Error } | null } = { current: null };
  service = await openService(dir, {
    wrapStores: (stores) => (faulty = stores.map((s) => new FaultyStore(s))),
    service: {
      afterStep: (step) => {
        if (fault.current?.step === step) throw fault.current.error;
      },
    },
  });
  await request(service.app).post('/virtual_balance').send({ balance: 100 }).expect(200);
  return { dir, app: service.app, vb: faulty[0] as FaultyStore, ats: faulty[1] as FaultyStore, fault };
}

const balances = async (dir: string) => [
  JSON.parse(await readFile(join(dir, VB), 'utf8')).balance,
  JSON.parse(await readFile(join(dir, ATS), 'utf8')).balance,
];

describe('a save that fails', () => {
  it.each(['ENOSPC', 'EACCES', 'EIO'])('on the first file (%s): 503, the old balance is served, the files agree, and the next save works', async (code) => {
    const { dir, app, vb } = await open();
    vb.failWrites(code);
    const res = await request(app).post('/virtual_balance').send({ balance: 200 }).expect(503);
    expect(res.body).toMatchObject({ status: 'error', message: expect.any(String) });
    expect(JSON.stringify(res.body)).not.toMatch(/at .*\.ts|injected/);
    expect((await request(app).get('/virtual_balance')).body).toMatchObject({ balance: 100, revision: 2 });
    expect(await balances(dir)).toEqual([100, 100]);
    expect((await request(app).post('/virtual_balance').send({ balance: 300 }).expect(200)).body.revision).toBe(3);
    expect(await balances(dir)).toEqual([300, 300]);
  });

  it('puts a file back as it was, so an outside edit adopted in the failed save is adopted again, not lost', async () => {
    const { dir, app, ats } = await open();
    await writeFile(join(dir, VB), '{"balance": 555, "note": "typed by hand"}');
    // The first try meets the hand edit at its last look and goes round again; the second adopts it and fails.
    ats.failWrites('EIO', { phase: 'commit', skip: 1 });
    await request(app).post('/virtual_balance').send({ delta: 1 }).expect(503);
    expect(JSON.parse(await readFile(join(dir, VB), 'utf8'))).toEqual({ balance: 555, note: 'typed by hand' });
    const res = await request(app).post('/virtual_balance').send({ delta: 1 }).expect(200);
    expect(res.body.balance).toBe(556);
    expect(await balances(dir)).toEqual([556, 556]);
    expect(JSON.parse(await readFile(join(dir, VB), 'utf8'))).toMatchObject({ note: 'typed by hand' });
  });

  it('when putting the second file in place fails: the first is put back, so both still hold the old balance', async () => {
    const { dir, app, ats } = await open();
    ats.failWrites('EIO', { phase: 'commit' });
    await request(app).post('/virtual_balance').send({ balance: 200 }).expect(503);
    expect(await balances(dir)).toEqual([100, 100]);
    // /health tells the truth until a write of that file succeeds again.
    expect((await request(app).get('/health').expect(503)).body).toMatchObject({ status: 'error', files_agree: false, failing: { file: ATS } });
    await request(app).post('/virtual_balance').send({ balance: 300 }).expect(200);
    expect((await request(app).get('/health').expect(200)).body).toMatchObject({ status: 'ok', files_agree: true });
    expect((await request(app).get('/health')).body.failing).toBeUndefined();
  });

  it.each(['journal', VB] as const)('after the %s step (a failed fsync, say): rolled back, and the journal does not keep the change', async (step) => {
    const { dir, app, fault } = await open();
    fault.current = { step, error: new Error('fsync failed') };
    await request(app).post('/virtual_balance').send({ balance: 200 }).expect(503);
    fault.current = null;
    expect(await balances(dir)).toEqual([100, 100]);
    const history = (await request(app).get('/virtual_balance/history').expect(200)).body.entries;
    expect(history.map((e: { balance: number }) => e.balance)).not.toContain(200);
  });

  it('when the folder fsync fails: 503, both files put back, the journal does not keep the change', async () => {
    const dir = await tempDir();
    const { fsyncDirectory } = await import('../../src/store/durable-write.ts');
    let failSync = false;
    service = await openService(dir, {
      service: {
        syncFolder: async () => {
          if (failSync) {
            failSync = false;
            throw Object.assign(new Error('EIO: fsync of the folder'), { code: 'EIO' });
          }
          await fsyncDirectory(dir);
        },
      },
    });
    await request(service.app).post('/virtual_balance').send({ balance: 100 }).expect(200);
    failSync = true;
    await request(service.app).post('/virtual_balance').send({ balance: 200 }).expect(503);
    expect(await balances(dir)).toEqual([100, 100]);
    expect((await request(service.app).get('/virtual_balance')).body).toMatchObject({ balance: 100, revision: 2 });
    const { entries } = (await request(service.app).get('/virtual_balance/history')).body;
    expect(entries.map((e: { balance: number }) => e.balance)).not.toContain(200);
  });

  it('when the rollback fails too: unhealthy (503 on reads and /health) until the disk is consistent again', async () => {
    const { dir, app, vb, ats } = await open();
    ats.failWrites('EIO', { phase: 'commit' });
    vb.failWrites('EIO', { skip: 1, phase: 'commit' }); // the change reaches vb; putting vb back fails
    await request(app).get('/auto_trading/status').expect(200); // a panel polls: its answer is cached
    await request(app).post('/virtual_balance').send({ balance: 200 }).expect(503);

    const health = await request(app).get('/health').expect(503);
    expect(health.body).toMatchObject({ status: 'error', ready: false });
    await request(app).get('/virtual_balance').expect(503);
    await request(app).get('/auto_trading/status').expect(503);
    await request(app).post('/virtual_balance').send({ balance: 1 }).expect(503);

    // Recovery retries reconciliation from disk on its own; the faults are gone now.
    await once(service?.balance as NodeJS.EventEmitter, 'change');
    expect((await request(app).get('/health').expect(200)).body.files_agree).toBe(true);
    // A double fault resolves like a crash: to the attempted write, which reached the journal and a file.
    expect(await balances(dir)).toEqual([200, 200]);
    expect((await request(app).get('/virtual_balance').expect(200)).body.balance).toBe(200);
  });
});

describe('a file that cannot be read', () => {
  it('answers a change 503 at once, not never, and works again once the file can be read', async () => {
    const { dir, app, ats } = await open();
    await writeFile(join(dir, ATS), '{"balance": 100, "enabled": true}'); // changed on disk: the save must read it
    ats.failReads('EACCES');
    await request(app).post('/virtual_balance').send({ balance: 200 }).expect(503);
    ats.failReads(null);
    await request(app).post('/virtual_balance').send({ balance: 300 }).expect(200);
    expect(await balances(dir)).toEqual([300, 300]);
  });
});

describe('concurrent changes', () => {
  it('50 at once: all answered, each with its own revision, the last one on disk', async () => {
    const { dir, app } = await open();
    const responses = await Promise.all(
      Array.from({ length: 50 }, (_, i) => request(app).post('/virtual_balance').send({ balance: 1000 + i })),
    );
    expect(responses.every((r) => r.status === 200)).toBe(true);
    const revisions = responses.map((r) => r.body.revision as number);
    expect(new Set(revisions).size).toBe(50);
    const last = responses.find((r) => r.body.revision === Math.max(...revisions));
    expect(await balances(dir)).toEqual([last?.body.balance, last?.body.balance]);
  });

  it('a hundred concurrent +1 deltas add exactly 100', async () => {
    const { dir, app } = await open();
    await Promise.all(Array.from({ length: 100 }, () => request(app).post('/virtual_balance').send({ delta: 1 }).expect(200)));
    expect((await request(app).get('/virtual_balance')).body.balance).toBe(200);
    expect(await balances(dir)).toEqual([200, 200]);
  });
});

describe('an outside edit landing in the middle of a save', () => {
  it('(after the journal, before the renames) is adopted first and the queued change is applied on top, in both files', async () => {
    const dir = await tempDir();
    let interfere = true;
    service = await openService(dir, {
      service: {
        afterStep: async (step) => {
          if (step !== 'journal' || !interfere) return;
          interfere = false;
          const { writeFile } = await import('node:fs/promises');
          await writeFile(join(dir, ATS), '{"balance": 500, "added_by_trader": true}');
        },
      },
    });
    const res = await request(service.app).post('/virtual_balance').send({ delta: 1 }).expect(200);
    expect(res.body.balance).toBe(501);
    expect(await balances(dir)).toEqual([501, 501]);
    expect(JSON.parse(await readFile(join(dir, ATS), 'utf8'))).toMatchObject({ added_by_trader: true });
    const { entries } = (await request(service.app).get('/virtual_balance/history?limit=2')).body;
    expect(entries.map((e: { source: string; balance: number }) => [e.source, e.balance])).toEqual([
      ['api', 501],
      [`external:${ATS}`, 500],
    ]);
  });
});
