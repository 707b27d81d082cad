// Reading the shared truth: the account's head, its journal forwards and backwards, a write-back's history.

import type pg from 'pg';
import type { Snapshot } from '../../domain/change.ts';
import type { JournalEntry } from '../../domain/ports.ts';
import type { WriteBackHistory } from '../../domain/stale-write-back.ts';
import { amountOf, ENTRY_COLUMNS, entryOf, SNAPSHOT_COLUMNS, snapshotOf, type EntryRow, type SnapshotRow } from './rows.ts';

/** A pool or one of its connections (inside a transaction). */
export type Queryable = Pick<pg.ClientBase, 'query'>;

export interface Scope {
  account: string;
  hostId: string;
}

/** The account's balance and revision, or null while the database does not hold it. */
export async function readHead(db: Queryable, account: string): Promise<Snapshot | null> {
  const { rows } = await db.query<SnapshotRow>(`SELECT ${SNAPSHOT_COLUMNS} FROM balance_sync_accounts WHERE account = $1`, [account]);
  return rows[0] ? snapshotOf(rows[0]) : null;
}

/** Entries after `revision`, oldest first, at most `limit`: a host catching up asks again from the last. */
export async function readEntriesSince(db: Queryable, account: string, revision: number, limit: number): Promise<JournalEntry[]> {
  const { rows } = await db.query<EntryRow>(
    `SELECT ${ENTRY_COLUMNS} FROM balance_sync_journal j WHERE account = $1 AND j.revision > $2 ORDER BY j.revision LIMIT $3`,
    [account, revision, limit],
  );
  return rows.map(entryOf);
}

/** The newest entries, newest first: a walk down the primary key, whatever the journal's length. */
export const RECENT = `SELECT ${ENTRY_COLUMNS} FROM balance_sync_journal j WHERE account = $1 ORDER BY j.revision DESC LIMIT $2`;

export async function readRecent(db: Queryable, account: string, limit: number): Promise<JournalEntry[]> {
  const { rows } = await db.query<EntryRow>(RECENT, [account, limit]);
  return rows.map(entryOf);
}

/**
 * What src/store/journal.ts answers for one host: the balance at `revision`, and the balances this
 * host's `file` wrote after it that were adopted, newest first. Hosts share the journal, not their
 * files: another host's file of the same name is another file, so only this host's entries count —
 * `external:<file>@<host>` as the domain writes it, or a plain `external:<file>` that this host
 * imported from its own journal.
 */
export async function readWriteBackHistory(db: Queryable, scope: Scope, revision: number, file: string): Promise<WriteBackHistory> {
  const { rows } = await db.query<{ at_revision: string | null; echoes: string[] | null; last_written: string | null }>(
    `SELECT (SELECT balance::text FROM balance_sync_journal WHERE account = $1 AND revision = $3) AS at_revision,
       array_agg(coalesce(written, balance)::text ORDER BY revision DESC) AS echoes,
       -- The newest of them written carrying that same revision: what a writer still carrying it last knew.
       (array_agg(coalesce(written, balance)::text ORDER BY revision DESC) FILTER (WHERE based_on = $3))[1] AS last_written
     FROM balance_sync_journal
     WHERE account = $1 AND revision > $3
       AND (source = 'external:' || $4 || '@' || $2 OR (source = 'external:' || $4 AND host_id = $2))`,
    [scope.account, scope.hostId, revision, file],
  );
  const row = rows[0];
  return {
    atRevision: row?.at_revision == null ? null : amountOf(row.at_revision),
    echoes: (row?.echoes ?? []).map(amountOf),
    lastWritten: row?.last_written == null ? null : amountOf(row.last_written),
  };
}
