// Domain values to and from the database's text: amounts exact (numeric as decimal text), times as ISO.

import { formatAmount, parseAmount, type Amount } from '../../domain/amount.ts';
import type { Snapshot } from '../../domain/change.ts';
import type { JournalEntry } from '../../domain/ports.ts';

/** The ISO text the domain writes (`toISOString`), rendered by the server itself: no driver date parsing. */
export const isoText = (column: string) => `to_char(${column} AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')`;

/** Reads a numeric column sent as text (`balance::text`): never through a double. */
export function amountOf(text: string): Amount {
  const parsed = parseAmount(text, { allowNegative: true });
  if (!parsed.ok) throw new Error(`the database returned an amount that is not one: ${JSON.stringify(text)} (${parsed.message})`);
  return parsed.value;
}

/** bigint columns arrive as text; revisions stay far below 2^53. */
export function revisionOf(value: string | number): number {
  const revision = Number(value);
  if (!Number.isSafeInteger(revision)) throw new Error(`the database returned a revision that is not one: ${value}`);
  return revision;
}

export interface SnapshotRow {
  balance: string;
  revision: string;
  updated_at: string;
}

export const SNAPSHOT_COLUMNS = `balance::text AS balance, revision::text AS revision, ${isoText('updated_at')} AS updated_at`;

export const snapshotOf = (row: SnapshotRow): Snapshot => ({ balance: amountOf(row.balance), revision: revisionOf(row.revision), updatedAt: row.updated_at });

export interface EntryRow {
  revision: string;
  at: string;
  balance: string;
  previous: string | null;
  source: string;
  reason: string | null;
  idempotency_key: string | null;
  request_hash: string | null;
  written: string | null;
  based_on: string | null;
}

// (The text aliases shadow the columns in ORDER BY: queries order by the table's column, `j.revision`.)
export const ENTRY_COLUMNS = `revision::text AS revision, ${isoText('at')} AS at, balance::text AS balance, previous::text AS previous,
  source, reason, idempotency_key, request_hash, written::text AS written, based_on::text AS based_on`;

export function entryOf(row: EntryRow): JournalEntry {
  const entry: JournalEntry = {
    revision: revisionOf(row.revision),
    at: row.at,
    balance: amountOf(row.balance),
    previous: row.previous === null ? null : amountOf(row.previous),
    source: row.source,
  };
  if (row.reason !== null) entry.reason = row.reason;
  if (row.idempotency_key !== null) entry.idempotency_key = row.idempotency_key;
  if (row.request_hash !== null) entry.request_hash = row.request_hash;
  if (row.written !== null) entry.written = amountOf(row.written);
  if (row.based_on !== null) entry.basedOn = revisionOf(row.based_on);
  return entry;
}

/**
 * Entries as one array per column, for `unnest`: a whole batch is one statement whatever its size.
 * Amounts go as decimal text and are cast to numeric by the server.
 */
export function entryColumns(entries: readonly JournalEntry[]) {
  return {
    revisions: entries.map((e) => e.revision),
    ats: entries.map((e) => e.at),
    balances: entries.map((e) => formatAmount(e.balance)),
    previous: entries.map((e) => (e.previous === null ? null : formatAmount(e.previous))),
    sources: entries.map((e) => e.source),
    reasons: entries.map((e) => e.reason ?? null),
    keys: entries.map((e) => e.idempotency_key ?? null),
    hashes: entries.map((e) => e.request_hash ?? null),
    written: entries.map((e) => (e.written === undefined ? null : formatAmount(e.written))),
    basedOn: entries.map((e) => e.basedOn ?? null),
  };
}

/** The `unnest` that turns entryColumns (parameters $n…$n+9) back into rows. */
export const unnestEntries = (first: number) =>
  `unnest($${first}::bigint[], $${first + 1}::timestamptz[], $${first + 2}::numeric[], $${first + 3}::numeric[],
    $${first + 4}::text[], $${first + 5}::text[], $${first + 6}::text[], $${first + 7}::text[], $${first + 8}::numeric[],
    $${first + 9}::bigint[])
    AS e(revision, at, balance, previous, source, reason, idempotency_key, request_hash, written, based_on)`;
