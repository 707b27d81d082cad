// A change the shared database committed but this host's files could not take (SPEC: a change is
// acknowledged only once committed *and* in the answering host's two files): never a 200, never a
// 503 that invites sending it again as if nothing happened; the files catch up once they can.

import { join } from 'node:path';
import request from 'supertest';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { FaultyStore } from '../../helpers/faulty-store.ts';
import { freshDatabase, postgresMissing, uniqueName } from '../../helpers/postgres.ts';
import { ATS, openService, VB, type TestService } from '../../helpers/service.ts';
import { readJson, tempDir } from '../../helpers/temp-dir.ts';
import { waitFor } from '../../helpers/wait.ts';

describe.skipIf(postgresMissing)('a commit whose files cannot be written on the answering host', () => {
  let url: string;
  let service: TestService | undefined;
  beforeAll(async () => {
    url = await freshDatabase();
  });
  afterEach(async () => {
    await service?.close();
  });

  async function faultyHost() {
    const dir = await tempDir();
    let faulty: FaultyStore[] = [];
    service = await openService(dir, { databaseUrl: url, account: uniqueName('account'), wrapStores: (stores) => (faulty = stores.map((s) => new FaultyStore(s))) });
    return { dir, service, trading: faulty[1] as FaultyStore };
  }

  it('is refused before anything commits when the disk is full while the account is held: 503, the database and the files as they were', async () => {
    const { dir, service, trading } = await faultyHost();
    trading.failWrites('ENOSPC', { phase: 'prepare' }); // the trading state's new version cannot be written
    const answer = await request(service.app).post('/virtual_balance').send({ delta: 5 });
    expect(answer.status).toBe(503);
    expect(answer.body.message).not.toMatch(/committed/);
    expect((await request(service.app).get('/virtual_balance/history?limit=10').expect(200)).body.entries.map((e: { revision: number }) => e.revision)).toEqual([1]);
    expect([(await readJson(join(dir, VB))).balance, (await readJson(join(dir, ATS))).balance]).toEqual([10_000, 10_000]);
    // The fault gone, the same change commits once.
    expect((await request(service.app).post('/virtual_balance').send({ delta: 5 })).body).toMatchObject({ balance: 10_005, revision: 2 });
  });

  it('is 503 saying it was committed when a file cannot be made durable after COMMIT (never renamed unsynced, never 200)', async () => {
    const { dir, service, trading } = await faultyHost();
    trading.failWrites('EIO', { phase: 'fsync' });
    const answer = await request(service.app).post('/virtual_balance').send({ delta: 5 });
    expect(answer.status).toBe(503);
    expect(answer.body.message).toMatch(/committed \(revision 2\).*could not be written.*do not send it again/);
    await service.balance.sync();
    await waitFor(async () => ((await readJson(join(dir, ATS))).balance === 10_005 ? true : undefined), 2_000, 'the trading state to hold the committed change');
  });

  it('is 503 saying it was committed and must not be sent again; the database holds it once, and the files follow once they can', async () => {
    const { dir, service, trading } = await faultyHost();
    trading.failWrites('EIO', { phase: 'commit' }); // the trading state's rename, after COMMIT

    const answer = await request(service.app).post('/virtual_balance').send({ delta: 5 });
    expect(answer.status).toBe(503);
    expect(answer.body).toEqual({ status: 'error', message: expect.stringMatching(/committed \(revision 2\).*could not be written.*do not send it again/) });
    // The database's balance is the committed one; the host serves it and both files get it once a write works.
    await service.balance.sync();
    await waitFor(async () => {
      const [vb, ats] = [await readJson(join(dir, VB)), await readJson(join(dir, ATS))];
      return vb.balance === 10_005 && ats.balance === 10_005 ? true : undefined;
    }, 2_000, 'both files to hold the committed change');
    expect((await request(service.app).get('/virtual_balance').expect(200)).body).toMatchObject({ balance: 10_005, revision: 2 });
    expect((await request(service.app).get('/virtual_balance/history?limit=10').expect(200)).body.entries.map((e: { revision: number }) => e.revision)).toEqual([2, 1]);
  });
});
