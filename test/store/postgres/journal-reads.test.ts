import pg from 'pg';
import { beforeAll, describe, expect, it } from 'vitest';
import { asAmount } from '../../../src/domain/amount.ts';
import type { JournalEntry } from '../../../src/domain/ports.ts';
import { RECENT } from '../../../src/store/postgres/journal-reads.ts';
import { freshDatabase, postgresMissing, uniqueName } from '../../helpers/postgres.ts';
import { initial, openHost } from './hosts.ts';

const entry = (revision: number, source = 'api@a', extra: Partial<JournalEntry> = {}): JournalEntry => ({
  revision,
  at: new Date(Date.UTC(2026, 10, 23, 10, 0, 0, revision)).toISOString(),
  balance: asAmount(BigInt(revision) * 100_000_000n + 1n),
  previous: revision > 1 ? asAmount(BigInt(revision - 1) * 100_000_000n + 1n) : null,
  source,
  ...extra,
});

/** What a legacy writer put into the file, where its booking led to another balance: 123.45. */
const BOOKED_WRITTEN = asAmount(12_345_000_000n);

describe.skipIf(postgresMissing)('reading the shared journal', () => {
  let url: string;
  beforeAll(async () => {
    url = await freshDatabase();
  });

  async function accountWith(entries: JournalEntry[], hostId = 'a') {
    const store = await openHost(url, uniqueName('account'), hostId);
    const last = entries.at(-1) as JournalEntry;
    await store.importAccount({ snapshot: initial(last.balance, last.revision), entries, keys: [] });
    return store;
  }

  it('reads forwards from a revision in pages, and backwards from the newest', async () => {
    const entries = Array.from({ length: 30 }, (_, i) => entry(i + 1));
    const store = await accountWith(entries);
    expect(await store.entriesSince(25)).toEqual(entries.slice(25));
    expect(await store.entriesSince(10, 5)).toEqual(entries.slice(10, 15));
    expect(await store.entriesSince(30)).toEqual([]);
    expect(await store.recent(3)).toEqual([entries[29], entries[28], entries[27]]);
  });

  it('reads the newest entries at a cost that does not grow with the journal: down the primary key, no sort', async () => {
    const store = await accountWith(Array.from({ length: 5_000 }, (_, i) => entry(i + 1)));
    const client = new pg.Client({ connectionString: url });
    await client.connect();
    await client.query('ANALYZE balance_sync_journal');
    const plan = (await client.query(`EXPLAIN (ANALYZE, COSTS OFF) ${RECENT}`, [store.account, 50])).rows.map((r) => r['QUERY PLAN'] as string).join('\n');
    await client.end();
    expect(plan).toMatch(/Index Scan Backward using balance_sync_journal_pkey/);
    expect(plan).not.toMatch(/Sort/);
    expect(plan).toMatch(/rows=50 loops=1/);
  });

  it("judges a write-back by this host's own file: its echoes, not another host's file of the same name", async () => {
    const file = 'auto_trading_state.json';
    const entries = [
      entry(1),
      entry(2, `external:${file}@a`, { basedOn: 1, written: BOOKED_WRITTEN }), // a booking on revision 1
      entry(3, `external:${file}@b`),
      entry(4, `external:${file}`), // imported from this host's own journal, before it had a name in it
      entry(5, 'external:virtual_balance.json@a'),
    ];
    const a = await accountWith(entries, 'a');
    const b = await openHost(url, a.account, 'b');
    // What a writer of a's file still carrying revision 1 last knew: the balance it wrote with it (not the booking's result).
    expect(await a.writeBackHistory(1, file)).toEqual({ atRevision: entries[0]?.balance, echoes: [entries[3]?.balance, BOOKED_WRITTEN], lastWritten: BOOKED_WRITTEN });
    // Imported entries carry the importing host (a): b's only echo is its own.
    expect(await b.writeBackHistory(1, file)).toEqual({ atRevision: entries[0]?.balance, echoes: [entries[2]?.balance], lastWritten: null });
    expect(await a.writeBackHistory(3, file)).toEqual({ atRevision: entries[2]?.balance, echoes: [entries[3]?.balance], lastWritten: null });
    // A revision the journal does not hold: a deliberate change, whatever the echoes.
    expect(await a.writeBackHistory(0, file)).toEqual({ atRevision: null, echoes: [entries[3]?.balance, BOOKED_WRITTEN], lastWritten: null });
  });
});
