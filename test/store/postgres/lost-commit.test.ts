import { randomUUID } from 'node:crypto';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { CommitOutcomeUnknownError } from '../../../src/store/postgres/errors.ts';
import { freshDatabase, postgresMissing, startRelay, type Relay } from '../../helpers/postgres.ts';
import { amount, commitRequests, delta, INITIAL_BALANCE, newAccount, openHost, wholeJournal } from './hosts.ts';

// A relay between one host and the real server cuts the connection at the one moment that matters:
// right after the bytes carrying COMMIT, before its answer can come back.
describe.skipIf(postgresMissing)('a commit whose answer is lost', () => {
  let url: string;
  let relay: Relay;
  beforeAll(async () => {
    url = await freshDatabase();
  });
  afterEach(async () => {
    await relay?.close();
  });

  async function hostBehindRelay(commitTimeoutMs?: number) {
    const first = await newAccount(url);
    relay = await startRelay(url);
    return openHost(relay.url, first.account, 'behind-relay', commitTimeoutMs ? { commitTimeoutMs } : {});
  }

  it.each([
    ['is found applied by its id when COMMIT reached the server, and is not applied again', { forward: true }],
    ['waits for a COMMIT still on its way to the server before looking it up, so it is not applied twice', { forward: true, delayMs: 300 }],
    ['is found absent when COMMIT never reached the server, and is committed once on a new connection', { forward: false }],
  ] as const)('%s', async (_, cutting) => {
    const host = await hostBehindRelay();
    const cut = relay.cutAt('COMMIT', cutting);
    const plan = await commitRequests(host, [delta('7.5', { reason: 'once' })]);
    await cut;
    expect(plan.snapshot).toMatchObject({ revision: 1, balance: INITIAL_BALANCE + amount('7.5') });
    expect((await wholeJournal(host)).map((e) => e.reason)).toEqual(['once']);
    expect(host.commitCounters()).toMatchObject({ connectionsLost: 1, outcomesResolved: 1, committed: 1 });
  });

  it.each([
    ['applied', true],
    ['absent', false],
  ] as const)('stays unknown while the database cannot be asked, and outcomeOf tells once it can (%s)', async (outcome, forward) => {
    // (A short deadline: the host asks again and again until it runs out.)
    const host = await hostBehindRelay(600);
    const cut = relay.cutAt('COMMIT', { forward, refuse: true });
    const commitId = randomUUID();
    const failure = await commitRequests(host, [delta('7.5', { reason: 'maybe' })], commitId).catch((error: unknown) => error);
    await cut;
    expect(failure).toBeInstanceOf(CommitOutcomeUnknownError);
    expect(failure).toMatchObject({ commitId, status: 503, decision: { snapshot: { revision: 1 } } });
    await expect(host.outcomeOf(commitId)).rejects.toMatchObject({ status: 503 });

    relay.refuse(false);
    expect(await host.outcomeOf(commitId)).toBe(outcome);
    expect((await wholeJournal(host)).map((e) => e.reason)).toEqual(forward ? ['maybe'] : []);
  });
});
