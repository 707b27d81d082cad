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

  it('is 503 saying it was committed and must not be sent again; the database holds it once, and the files follow once they can', async () => {
    const dir = await tempDir();
    let faulty: FaultyStore[] = [];
    service = await openService(dir, { databaseUrl: url, account: uniqueName('account'), wrapStores: (stores) => (faulty = stores.map((s) => new FaultyStore(s))) });
    (faulty[1] as FaultyStore).failWrites('EIO', { phase: 'commit' }); // the trading state's rename, after COMMIT

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
