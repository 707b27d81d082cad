// The PostgreSQL store's commit transaction run by the bare driver, one change at a time: the same
// statements a POST's batch sends (lock the account, read its keys, journal + account + NOTIFY,
// COMMIT), pipelined into two round trips as the store sends them, with no domain, files or HTTP.

import { randomUUID } from 'node:crypto';
import pg from 'pg';
import { asAmount } from '../src/domain/amount.ts';
import type { Snapshot } from '../src/domain/change.ts';
import type { JournalEntry } from '../src/domain/ports.ts';
import { LOCK_ACCOUNT, READ_KEYS, WRITE_BATCH, writeBatchValues } from '../src/store/postgres/commit-transaction.ts';
import { snapshotOf, type SnapshotRow } from '../src/store/postgres/rows.ts';

const DELTA = asAmount(1_000_000n); // 0.01, as the POSTs send

/** `account` must exist (any balance); the service's tables must be there. */
export async function openBareCommit(url: string, account: string): Promise<{ once(): Promise<number>; close(): Promise<void> }> {
  const client = new pg.Client({ connectionString: url, pipeline: true });
  await client.connect();
  const scope = { account, hostId: 'bench-bare' };
  return {
    async once() {
      const started = performance.now();
      const [, locked, read] = await Promise.all([
        client.query('BEGIN'),
        client.query<SnapshotRow>({ name: 'lock', text: LOCK_ACCOUNT, values: [account] }),
        client.query<{ now: string }>({ name: 'keys', text: READ_KEYS, values: [account, []] }),
      ]);
      const current: Snapshot = snapshotOf(locked.rows[0] as SnapshotRow);
      const now = read.rows[0]?.now as string;
      const balance = asAmount(current.balance + DELTA);
      const entry: JournalEntry = { revision: current.revision + 1, at: now, balance, previous: current.balance, source: 'api@bench-bare' };
      const decision = { snapshot: { balance, revision: entry.revision, updatedAt: now }, entries: [entry] };
      await Promise.all([client.query({ name: 'write', text: WRITE_BATCH, values: writeBatchValues(scope, randomUUID(), current, decision) }), client.query('COMMIT')]);
      return performance.now() - started;
    },
    close: () => client.end(),
  };
}
