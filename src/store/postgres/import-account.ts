// From files to PostgreSQL: the first host to start on an account brings in its balance, journal and keys.

import type pg from 'pg';
import { formatAmount } from '../../domain/amount.ts';
import type { Snapshot } from '../../domain/change.ts';
import { IDEMPOTENCY_WINDOW_MS } from '../../domain/idempotency.ts';
import type { JournalEntry } from '../../domain/ports.ts';
import type { Scope } from './journal-reads.ts';
import { entryColumns, unnestEntries } from './rows.ts';

/**
 * A remembered Idempotency-Key: the change that carried it (its balance, revision and time are the
 * answer) and how long ago it was made, as the local journal's own order tells it (the shape of the
 * domain's RememberedKey, so the file journal's keys in the window go in as they are).
 */
export interface ImportedKey {
  entry: JournalEntry;
  ageMs: number;
}

export interface AccountImport {
  snapshot: Snapshot;
  /** The local journal, any order; history continues from it. */
  entries: readonly JournalEntry[];
  /** Keys acknowledged less than 24 h ago; older ones, and entries without a key, are left out. */
  keys: readonly ImportedKey[];
}

// Whoever inserts the account row first imports; a second host racing it waits on the primary key
// until the first commits and then inserts nothing. Everything else is written only by the winner.
const CLAIM = `INSERT INTO balance_sync_accounts (account, balance, revision, updated_at) VALUES ($1, $2::numeric, $3, $4::timestamptz)
  ON CONFLICT (account) DO NOTHING RETURNING account`;

const ENTRIES = `INSERT INTO balance_sync_journal (account, revision, at, balance, previous, source, reason, idempotency_key, request_hash, written, based_on, host_id)
  SELECT $1, e.revision, e.at, e.balance, e.previous, e.source, e.reason, e.idempotency_key, e.request_hash, e.written, e.based_on, $2 FROM ${unnestEntries(3)}`;

// A key's age, as the importing host judged it, is laid on the database's clock: from here on one
// clock judges the window for every host.
const KEYS = `INSERT INTO balance_sync_idempotency_keys (account, key, request_hash, revision, balance, at, created_at)
  SELECT $1, k.key, k.request_hash, k.revision, k.balance, k.at, now() - k.age_ms * interval '1 millisecond'
  FROM unnest($2::text[], $3::text[], $4::bigint[], $5::numeric[], $6::timestamptz[], $7::bigint[]) AS k(key, request_hash, revision, balance, at, age_ms)`;

/** Rows per statement: a long journal goes in slices rather than one giant parameter. */
const SLICE = 5_000;

export async function importAccount(pool: pg.Pool, scope: Scope, data: AccountImport): Promise<'imported' | 'exists'> {
  const { snapshot } = data;
  const keys = data.keys.filter(({ entry, ageMs }) => entry.idempotency_key !== undefined && entry.request_hash !== undefined && ageMs < IDEMPOTENCY_WINDOW_MS);
  const client = await pool.connect();
  try {
    await client.query('BEGIN');
    const claimed = await client.query(CLAIM, [scope.account, formatAmount(snapshot.balance), snapshot.revision, snapshot.updatedAt]);
    if (claimed.rowCount !== 1) {
      await client.query('ROLLBACK');
      client.release();
      return 'exists';
    }
    for (let start = 0; start < data.entries.length; start += SLICE) {
      const c = entryColumns(data.entries.slice(start, start + SLICE));
      await client.query(ENTRIES, [scope.account, scope.hostId, c.revisions, c.ats, c.balances, c.previous, c.sources, c.reasons, c.keys, c.hashes, c.written, c.basedOn]);
    }
    await client.query(KEYS, [
      scope.account,
      keys.map((k) => k.entry.idempotency_key),
      keys.map((k) => k.entry.request_hash),
      keys.map((k) => k.entry.revision),
      keys.map((k) => formatAmount(k.entry.balance)),
      keys.map((k) => k.entry.at),
      keys.map((k) => Math.max(0, Math.round(k.ageMs))),
    ]);
    await client.query('COMMIT');
    client.release();
    return 'imported';
  } catch (error) {
    // Nothing of a failed import stays: the transaction dies with its connection.
    client.release(true);
    throw error;
  }
}
