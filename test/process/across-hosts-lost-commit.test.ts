import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { asAmount } from '../../src/domain/amount.ts';
import { amount, expectEveryHostHolds, head, journalReasons, newAccount, sharedDatabase, startHost, type Shared } from '../helpers/host-processes.ts';
import { postDelta } from '../helpers/keyed-clients.ts';
import { postgresMissing, startRelay, type Relay } from '../helpers/postgres.ts';
import { ATS } from '../helpers/service.ts';
import { waitFor } from '../helpers/wait.ts';

const INITIAL = amount('10000');

// A relay between a host and the real server cuts the host's connection at the one moment that
// matters: right after the bytes carrying COMMIT reach the server, before its answer can come back.
describe.skipIf(postgresMissing)('a change whose COMMIT answer is lost, on a real host', () => {
  let database: string;
  let shared: Shared;
  let relay: Relay;
  beforeAll(async () => {
    database = await sharedDatabase();
  });
  beforeEach(async () => {
    shared = newAccount(database);
    relay = await startRelay(database);
  });
  afterEach(() => relay.close());

  const hostBehindRelay = () => startHost({ ...shared, databaseUrl: relay.url }, 'relayed');

  it('is looked up by its id and answered 200 when it was applied — applied once, though it carried no Idempotency-Key', async () => {
    const host = await hostBehindRelay();
    const cut = relay.cutAt('COMMIT', { forward: true });
    const answer = await postDelta(host, 'lost-once', '2.5', false);
    await cut;
    expect(answer).toMatchObject({ status: 200, revision: 2, balance: asAmount(INITIAL + amount('2.5')) });
    expect(await journalReasons(shared, 'lost-')).toEqual(new Map([['lost-once', 1]]));
    await expectEveryHostHolds(shared, [host], asAmount(INITIAL + amount('2.5')));
  });

  it("counts a legacy booking whose COMMIT never reached the server once the transaction is made again (it was left out as 'judged before')", async () => {
    const host = await hostBehindRelay();
    const cut = relay.cutAt('COMMIT', { forward: false });
    // The legacy trader books 5.25 into the trading state, keeping the revision it read.
    const path = join(host.dir, ATS);
    const state = JSON.parse(await readFile(path, 'utf8')) as { balance: number };
    await writeFile(path, JSON.stringify({ ...state, balance: state.balance + 5.25 }));
    await cut;
    const booked = asAmount(INITIAL + amount('5.25'));
    await waitFor(async () => (await head(shared)).balance === booked, 5_000, 'the booking committed').catch(() => {});
    expect((await head(shared)).balance).toBe(booked);
    await expectEveryHostHolds(shared, [host], booked);
  });

  it('is answered within 5 s when the database goes silent meanwhile, and its key, sent again, tells it was applied', async () => {
    const host = await hostBehindRelay();
    const cut = relay.cutAt('COMMIT', { forward: true, silence: true });
    const answer = await postDelta(host, 'lost-silent', '2.5');
    await cut;
    // Not a failure: it may well be applied, and the answer says so.
    expect(answer).toMatchObject({ status: 503, message: expect.stringMatching(/not known/) });
    expect(answer.ms).toBeLessThan(5_000);

    relay.silence(false);
    const { value: again } = await waitFor(async () => {
      const replay = await postDelta(host, 'lost-silent', '2.5');
      return replay.status === 200 ? replay : undefined;
    }, 10_000, 'the key to be answered');
    expect(again).toMatchObject({ replayed: true, revision: 2 });
    expect(await journalReasons(shared, 'lost-')).toEqual(new Map([['lost-silent', 1]]));
    await expectEveryHostHolds(shared, [host], asAmount(INITIAL + amount('2.5')));
  });

  it('answers the changes queued behind it within 5 s of their own arrival too (their time ran from the batch before)', async () => {
    const host = await hostBehindRelay();
    const cut = relay.cutAt('COMMIT', { forward: true, silence: true });
    const first = postDelta(host, 'hung-first', '1');
    await new Promise((resolve) => setTimeout(resolve, 500)); // the first batch is hanging on COMMIT by now
    const queued = await Promise.all(['a', 'b', 'c', 'd'].map((name) => postDelta(host, `hung-${name}`, '1')));
    expect((await first).status).toBe(503);
    await cut;
    for (const answer of queued) {
      expect(answer.status).toBe(503);
      expect(answer.ms).toBeLessThan(5_000);
    }
  });
});
