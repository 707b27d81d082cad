import { randomUUID } from 'node:crypto';
import { beforeAll, describe, expect, it } from 'vitest';
import { asAmount, formatAmount, type Amount } from '../../../src/domain/amount.ts';
import { IdempotencyConflictError } from '../../../src/domain/errors.ts';
import { AccountMissingError } from '../../../src/store/postgres/errors.ts';
import { adminQuery, freshDatabase, postgresMissing, uniqueName } from '../../helpers/postgres.ts';
import { amount, commitRequests, delta, INITIAL_BALANCE, newAccount, openHost, sum, wholeJournal, withKey } from './hosts.ts';

describe.skipIf(postgresMissing)('committing to the shared balance', () => {
  let url: string;
  beforeAll(async () => {
    url = await freshDatabase();
  });

  it('holds no account until a host imports it, then serves its balance and revision', async () => {
    const store = await openHost(url, uniqueName('account'), 'a');
    expect(await store.head()).toBeNull();
    const updatedAt = '2026-11-23T10:00:00.123Z';
    expect(await store.importAccount({ snapshot: { balance: amount('12345.67891234'), revision: 7, updatedAt }, entries: [], keys: [] })).toBe('imported');
    expect(await store.head()).toEqual({ balance: amount('12345.67891234'), revision: 7, updatedAt });
  });

  it('commits a batch as one transaction: the next revisions, exact amounts, the host in each source', async () => {
    const store = await newAccount(url, 'host-a');
    const plan = await commitRequests(store, [delta('0.1'), delta('0.2'), delta('-10000.3', { reason: 'all of it' })]);
    expect(plan.snapshot).toMatchObject({ balance: amount('0'), revision: 3 });
    const journal = await wholeJournal(store);
    expect(journal.map((e) => [e.revision, formatAmount(e.previous ?? 0n), formatAmount(e.balance), e.source])).toEqual([
      [1, '10000', '10000.1', 'api@host-a'],
      [2, '10000.1', '10000.3', 'api@host-a'],
      [3, '10000.3', '0', 'api@host-a'],
    ]);
    expect(journal[2]?.reason).toBe('all of it');
    expect(await store.head()).toEqual({ balance: amount('0'), revision: 3, updatedAt: journal[2]?.at });
    // The database's clock stamps the entries, read under the lock: in order across hosts.
    expect(journal.map((e) => e.at)).toEqual([...journal.map((e) => e.at)].sort());
  });

  it('keeps revisions one gapless sequence and counts every delta while hosts commit at once', async () => {
    const first = await newAccount(url);
    const hosts = [first, await openHost(url, first.account, 'b'), await openHost(url, first.account, 'c')];
    const acknowledged: Amount[] = [];
    // Three hosts, three batches in flight on each, amounts down to the last of 8 decimals.
    await Promise.all(hosts.flatMap((host, h) => [0, 1, 2].map(async (lane) => {
      for (let i = 0; i < 12; i++) {
        const requests = Array.from({ length: 1 + (i % 3) }, (_, j) => delta(asAmount(BigInt(h + 1) * 100_000_000n + BigInt(lane * 1_000_000 + i * 1_000 + j * 10 + 1))));
        const plan = await commitRequests(host, requests);
        for (const outcome of plan.outcomes) if ('snapshot' in outcome && outcome.job.request.op.kind === 'delta') acknowledged.push(outcome.job.request.op.delta);
      }
    })));
    const journal = await wholeJournal(first);
    expect(journal.map((e) => e.revision)).toEqual(journal.map((_, i) => i + 1));
    expect(journal).toHaveLength(acknowledged.length);
    journal.forEach((entry, i) => expect(entry.previous).toBe(i === 0 ? INITIAL_BALANCE : journal[i - 1]?.balance));
    expect((await first.head())?.balance).toBe(INITIAL_BALANCE + sum(acknowledged));
    // The row lock queues the hosts: none of them had to try a batch again.
    expect(hosts.map((h) => h.commitCounters().conflictsRetried)).toEqual([0, 0, 0]);
  });

  it('answers an Idempotency-Key repeated on another host with the first answer, applying nothing twice', async () => {
    const a = await newAccount(url, 'a');
    const b = await openHost(url, a.account, 'b');
    const first = await commitRequests(a, [delta('25.5', withKey('order-1'))]);
    const again = await commitRequests(b, [delta('25.5', withKey('order-1'))]);
    expect(again.outcomes[0]).toMatchObject({ replayed: true, snapshot: first.snapshot });
    expect(again.entries).toEqual([]);
    const other = await commitRequests(b, [delta('99', withKey('order-1', 'another body'))]);
    expect((other.outcomes[0] as { error: unknown }).error).toBeInstanceOf(IdempotencyConflictError);
    expect(await b.head()).toMatchObject({ balance: amount('10025.5'), revision: 1 });
  });

  it('applies a key once when two hosts commit it at the same instant', async () => {
    const a = await newAccount(url, 'a');
    const b = await openHost(url, a.account, 'b');
    const keys = Array.from({ length: 8 }, (_, i) => `race-${i}`);
    await Promise.all(keys.flatMap((key) => [a, b].map((host) => commitRequests(host, [delta('1', withKey(key))]))));
    const journal = await wholeJournal(a);
    expect(journal.map((e) => e.idempotency_key).sort()).toEqual(keys);
    expect((await a.head())?.balance).toBe(INITIAL_BALANCE + amount('8'));
  });

  it('forgets a key 24 h after it was acknowledged, by the database clock', async () => {
    const store = await newAccount(url);
    await commitRequests(store, [delta('1', withKey('old'))]);
    await adminQuery("UPDATE balance_sync_idempotency_keys SET created_at = now() - interval '24 hours 1 second' WHERE account = $1", [store.account], url);
    const again = await commitRequests(store, [delta('1', withKey('old'))]);
    expect(again.outcomes[0]).toMatchObject({ replayed: false, snapshot: { revision: 2 } });
    // ...and the key is remembered anew from then on.
    expect((await commitRequests(store, [delta('1', withKey('old'))])).outcomes[0]).toMatchObject({ replayed: true, snapshot: { revision: 2 } });
  });

  it("lets the domain read the shared journal under the account's lock, as it stands at that instant", async () => {
    const a = await newAccount(url, 'a');
    const b = await openHost(url, a.account, 'b');
    const file = 'auto_trading_state.json';
    // Host b's file was adopted at revision 1 (an outside edit); host a's change follows.
    await b.commit({ commitId: randomUUID(), keys: [] }, ({ current, now }) => {
      const balance = amount('500');
      return { snapshot: { balance, revision: 1, updatedAt: now }, entries: [{ revision: 1, at: now, balance, previous: current.balance, source: `external:${file}@b` }] };
    });
    await commitRequests(a, [delta('1')]);
    const seen = await b.commit({ commitId: randomUUID(), keys: [] }, async ({ current, writeBackHistory }) => ({
      snapshot: current,
      entries: [],
      since: [await writeBackHistory(0, file), await writeBackHistory(1, file)],
    }));
    // (Revision 0 came from files alone: the journal does not hold it.)
    expect(seen.since).toEqual([
      { atRevision: null, echoes: [amount('500')], lastWritten: null },
      { atRevision: amount('500'), echoes: [], lastWritten: null },
    ]);
    expect(seen.snapshot.revision).toBe(2);
  });

  it('refuses to commit to an account nobody imported', async () => {
    const store = await openHost(url, uniqueName('account'), 'a');
    await expect(commitRequests(store, [delta('1')])).rejects.toBeInstanceOf(AccountMissingError);
  });

  it('passes on what decide throws, and writes nothing', async () => {
    const store = await newAccount(url);
    const bug = new Error('the domain failed');
    await expect(store.commit({ commitId: randomUUID(), keys: [] }, () => { throw bug; })).rejects.toBe(bug);
    await expect(store.commit({ commitId: randomUUID(), keys: [] }, ({ current }) => ({ snapshot: { ...current, revision: current.revision + 2 }, entries: [] })))
      .rejects.toThrow(/gaplessly/);
    expect(await store.head()).toMatchObject({ revision: 0, balance: INITIAL_BALANCE });
  });
});
