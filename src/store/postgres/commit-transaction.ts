// One try at committing a batch: lock the account, read its keys, let the domain decide, write it all.

import type pg from 'pg';
import { formatAmount } from '../../domain/amount.ts';
import type { Snapshot } from '../../domain/change.ts';
import type { Remembered } from '../../domain/commit/plan.ts';
import type { SharedContext, SharedDecision } from '../../domain/shared-truth.ts';
import { AccountMissingError } from './errors.ts';
import { readWriteBackHistory, type Scope } from './journal-reads.ts';
import { amountOf, entryColumns, isoText, revisionOf, SNAPSHOT_COLUMNS, snapshotOf, unnestEntries, type SnapshotRow } from './rows.ts';

/** What the domain decides from, and what it decided: the domain's port (src/domain/shared-truth.ts). */
export type CommitContext = SharedContext;
export type Decision = SharedDecision;

/** May run more than once for one commit (after a conflict or a lost connection): it must be pure. */
export type Decide<D extends Decision> = (context: CommitContext) => D | Promise<D>;

export interface Batch {
  commitId: string;
  /** The Idempotency-Keys the batch's requests carry. */
  keys: readonly string[];
  /**
   * When the batch's oldest change arrived (performance.now()): its time runs from then, not from when
   * the batch began — a change that waited behind a batch the database left hanging has spent it.
   */
  queuedAt?: number;
}

// FOR UPDATE: hosts committing to one account queue here, one transaction at a time, each deciding
// from the balance the one before it left. Under READ COMMITTED each later statement takes a fresh
// snapshot, so the keys read next include those of the transaction we waited for.
export const LOCK_ACCOUNT = `SELECT ${SNAPSHOT_COLUMNS} FROM balance_sync_accounts WHERE account = $1 FOR UPDATE`;

export const READ_KEYS = `SELECT ${isoText('clock_timestamp()')} AS now, coalesce(json_agg(json_build_object(
    'key', key, 'request_hash', request_hash, 'revision', revision::text, 'balance', balance::text, 'at', ${isoText('at')})), '[]') AS remembered
  FROM balance_sync_idempotency_keys
  WHERE account = $1 AND key = ANY($2::text[]) AND created_at > now() - interval '24 hours'`;

// One statement for every write, so it can travel with its COMMIT. The journal and the keys are
// written only FROM the account's UPDATE, which names the revision decided on: were that not the
// current one, nothing at all is written and the statement returns no row (a conflict, tried again).
// The key of an expired entry is taken over (ON CONFLICT): it was not among the remembered ones.
export const WRITE_BATCH = `WITH account AS (
    UPDATE balance_sync_accounts SET balance = $4::numeric, revision = $5, updated_at = $6::timestamptz
    WHERE account = $1 AND revision = $7
    RETURNING account
  ), e AS (
    SELECT * FROM ${unnestEntries(8)}
  ), journal AS (
    INSERT INTO balance_sync_journal (account, revision, at, balance, previous, source, reason, idempotency_key, request_hash, written, based_on, commit_id, host_id)
    SELECT account.account, e.revision, e.at, e.balance, e.previous, e.source, e.reason, e.idempotency_key, e.request_hash, e.written, e.based_on, $2::uuid, $3
    FROM account, e
  ), keys AS (
    INSERT INTO balance_sync_idempotency_keys (account, key, request_hash, revision, balance, at)
    SELECT account.account, e.idempotency_key, e.request_hash, e.revision, e.balance, e.at
    FROM account, e WHERE e.idempotency_key IS NOT NULL AND e.request_hash IS NOT NULL
    ON CONFLICT (account, key) DO UPDATE SET request_hash = excluded.request_hash, revision = excluded.revision,
      balance = excluded.balance, at = excluded.at, created_at = now()
  )
  SELECT pg_notify('balance_sync', json_build_object('account', account, 'revision', $5::bigint)::text) FROM account`;

export const writeBatchValues = ({ account, hostId }: Scope, commitId: string, before: Snapshot, decision: Decision) => {
  const c = entryColumns(decision.entries);
  const { snapshot } = decision;
  return [account, commitId, hostId, formatAmount(snapshot.balance), snapshot.revision, snapshot.updatedAt, before.revision,
    c.revisions, c.ats, c.balances, c.previous, c.sources, c.reasons, c.keys, c.hashes, c.written, c.basedOn];
};

interface KeyRow {
  key: string;
  request_hash: string;
  revision: string;
  balance: string;
  at: string;
}

export const rememberedOf = (rows: readonly KeyRow[]): Map<string, Remembered> =>
  new Map(rows.map((row) => [row.key, { requestHash: row.request_hash, snapshot: { balance: amountOf(row.balance), revision: revisionOf(row.revision), updatedAt: row.at } }]));

/** The entries must continue the account's revisions one by one up to the snapshot's: anything else is a bug. */
export function checkDecision(current: Snapshot, decision: Decision): void {
  const { entries, snapshot } = decision;
  const gapless = entries.every((entry, index) => entry.revision === current.revision + index + 1);
  const last = entries.at(-1);
  if (!gapless || snapshot.revision !== (last?.revision ?? current.revision) || snapshot.balance !== (last?.balance ?? current.balance)) {
    throw new Error(`a decision must continue revision ${current.revision} gaplessly up to its snapshot's (${snapshot.revision})`);
  }
}

/** decide() threw: the domain's own error, to be passed on as it is (not a database failure). */
export class DecideFailed {
  constructor(readonly error: unknown) {}
}

/**
 * `progress.decision` is set, and `progress.commitSent` turns true, the moment the writes and COMMIT
 * are on their way: from then on a lost connection leaves the outcome unknown. Returns `conflict` when
 * nothing was written because the account had moved (cannot happen under the lock; tried again).
 */
export async function tryCommit<D extends Decision>(
  client: pg.ClientBase,
  scope: Scope,
  batch: Batch,
  decide: Decide<D>,
  progress: { commitSent: boolean; decision?: D },
): Promise<{ kind: 'done'; decision: D } | { kind: 'conflict' }> {
  // Pipelined: the three statements travel together, one round trip.
  const [, locked, read] = await Promise.all([
    client.query('BEGIN'),
    client.query<SnapshotRow>({ name: 'balance_sync_lock_account', text: LOCK_ACCOUNT, values: [scope.account] }),
    client.query<{ now: string; remembered: KeyRow[] }>({ name: 'balance_sync_read_keys', text: READ_KEYS, values: [scope.account, batch.keys] }),
  ]);
  const row = locked.rows[0];
  const keys = read.rows[0];
  if (!row || !keys) {
    await client.query('ROLLBACK');
    throw new AccountMissingError(scope.account);
  }
  const current = snapshotOf(row);
  let decision: D;
  try {
    decision = await decide({
      current,
      remembered: rememberedOf(keys.remembered),
      now: keys.now,
      writeBackHistory: (revision, file) => readWriteBackHistory(client, scope, revision, file),
    });
    checkDecision(current, decision);
  } catch (error) {
    await client.query('ROLLBACK');
    throw new DecideFailed(error);
  }
  if (decision.entries.length === 0) {
    await client.query('ROLLBACK');
    return { kind: 'done', decision };
  }
  progress.decision = decision;
  const write = client.query({ name: 'balance_sync_write_batch', text: WRITE_BATCH, values: writeBatchValues(scope, batch.commitId, current, decision) });
  progress.commitSent = true;
  const [written] = await Promise.all([write, client.query('COMMIT')]);
  return written.rowCount === 1 ? { kind: 'done', decision } : { kind: 'conflict' };
}
