// Did a commit whose answer was lost happen? Asked by its id, once nothing can still change the answer.

import type pg from 'pg';
import { connectWithin, describe, sever } from './connection.ts';
import { PostgresUnavailableError } from './errors.ts';

export type Outcome = 'applied' | 'absent';

// The lost transaction held the account's row lock, and until it has ended its COMMIT may yet arrive
// (a connection cut on our side can still deliver it). FOR SHARE waits for it to end either way —
// the server ends an abandoned one after idle_in_transaction_session_timeout — and the lookup that
// follows, a statement of its own under READ COMMITTED, sees what it left.
const WAIT_FOR_LOCK_HOLDER = 'SELECT 1 FROM balance_sync_accounts WHERE account = $1 FOR SHARE';
const FIND_COMMIT = 'SELECT EXISTS (SELECT 1 FROM balance_sync_journal WHERE account = $1 AND commit_id = $2::uuid) AS applied';

/** Throws PostgresUnavailableError when the database cannot answer within `timeoutMs`. */
export async function outcomeOf(pool: pg.Pool, account: string, commitId: string, timeoutMs: number): Promise<Outcome> {
  const started = performance.now();
  const client = await connectWithin(pool, timeoutMs);
  const timer = setTimeout(() => sever(client), Math.max(0, timeoutMs - (performance.now() - started)));
  try {
    const [, , found] = await Promise.all([
      client.query('BEGIN'),
      client.query(WAIT_FOR_LOCK_HOLDER, [account]),
      client.query<{ applied: boolean }>(FIND_COMMIT, [account, commitId]),
      client.query('COMMIT'),
    ]);
    client.release();
    return found.rows[0]?.applied ? 'applied' : 'absent';
  } catch (error) {
    client.release(true);
    throw new PostgresUnavailableError(describe(error), error);
  } finally {
    clearTimeout(timer);
  }
}
