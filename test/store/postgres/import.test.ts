import { beforeAll, describe, expect, it } from 'vitest';
import { asAmount } from '../../../src/domain/amount.ts';
import type { JournalEntry } from '../../../src/domain/ports.ts';
import { adminQuery, freshDatabase, postgresMissing, uniqueName } from '../../helpers/postgres.ts';
import { amount, commitRequests, delta, initial, openHost, withKey } from './hosts.ts';

const HOUR = 60 * 60 * 1000;

/** A local journal as a host that ran on files alone would have it: revisions 1…n. */
function localJournal(n: number, hostKeys: Record<number, string> = {}): JournalEntry[] {
  return Array.from({ length: n }, (_, i) => {
    const revision = i + 1;
    const entry: JournalEntry = {
      revision,
      at: new Date(Date.now() - (n - i) * 60_000).toISOString(),
      balance: asAmount(BigInt(revision) * 100_000_000n + 12_345_678n),
      previous: revision > 1 ? asAmount(BigInt(revision - 1) * 100_000_000n + 12_345_678n) : null,
      source: revision % 2 ? 'api' : 'external:auto_trading_state.json',
    };
    const key = hostKeys[revision];
    if (key) Object.assign(entry, { idempotency_key: key, request_hash: 'hash', reason: `booked ${key}` });
    return entry;
  });
}

describe.skipIf(postgresMissing)('moving a host from files to PostgreSQL', () => {
  let url: string;
  beforeAll(async () => {
    url = await freshDatabase();
  });

  it('brings in the balance, the journal and the keys younger than 24 h, and history goes on from there', async () => {
    const store = await openHost(url, uniqueName('account'), 'first');
    const entries = localJournal(5, { 4: 'young', 5: 'old' });
    const snapshot = { balance: entries[4]!.balance, revision: 5, updatedAt: entries[4]!.at };
    // Ages as the local journal's order tells them, whatever the entries' `at` say.
    const keys = [
      { entry: entries[3]!, ageMs: 23 * HOUR },
      { entry: entries[4]!, ageMs: 25 * HOUR },
      { entry: entries[2]!, ageMs: HOUR }, // no key: not one to remember
    ];
    expect(await store.importAccount({ snapshot, entries, keys })).toBe('imported');

    expect(await store.head()).toEqual(snapshot);
    expect(await store.recent(10)).toEqual([...entries].reverse());
    const young = await commitRequests(store, [delta('1', withKey('young'))]);
    expect(young.outcomes[0]).toMatchObject({ replayed: true, snapshot: { balance: entries[3]!.balance, revision: 4, updatedAt: entries[3]!.at } });
    const old = await commitRequests(store, [delta('1', withKey('old'))]);
    expect(old.outcomes[0]).toMatchObject({ replayed: false, snapshot: { revision: 6, balance: snapshot.balance + amount('1') } });
    expect((await store.recent(2)).map((e) => e.revision)).toEqual([6, 5]);

    // The key's age was laid on the database's clock: it has about an hour left there.
    const rows = await adminQuery<{ left: number }>(
      `SELECT extract(epoch FROM created_at + interval '24 hours' - now()) AS left FROM balance_sync_idempotency_keys WHERE account = $1 AND key = 'young'`,
      [store.account],
      url,
    );
    expect(Number(rows[0]?.left)).toBeGreaterThan(0.9 * 3600);
    expect(Number(rows[0]?.left)).toBeLessThan(1.1 * 3600);
  });

  it('lets exactly one of two hosts starting together import; the other writes nothing', async () => {
    for (let round = 0; round < 5; round++) {
      const account = uniqueName('account');
      const [a, b] = [await openHost(url, account, 'a'), await openHost(url, account, 'b')];
      const imports = [
        { snapshot: initial(amount('111'), 3), entries: localJournal(3), keys: [] },
        { snapshot: initial(amount('222'), 9), entries: localJournal(9), keys: [] },
      ];
      const results = await Promise.all([a.importAccount(imports[0]!), b.importAccount(imports[1]!)]);
      expect([...results].sort()).toEqual(['exists', 'imported']);
      const winner = imports[results.indexOf('imported')]!;
      expect(await a.head()).toEqual(winner.snapshot);
      expect(await b.recent(100)).toEqual([...winner.entries].reverse());
    }
  });

  it('leaves nothing of an import that fails half-way, so the next try starts clean', async () => {
    const store = await openHost(url, uniqueName('account'), 'a');
    const entries = localJournal(4);
    const twice = [...entries, entries[1]!];
    await expect(store.importAccount({ snapshot: initial(amount('5'), 4), entries: twice, keys: [] })).rejects.toThrow(/duplicate key/);
    expect(await store.head()).toBeNull();
    expect(await store.importAccount({ snapshot: initial(amount('5'), 4), entries, keys: [] })).toBe('imported');
    expect(await store.recent(10)).toHaveLength(4);
  });
});
