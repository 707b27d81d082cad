// The fleet view: each host says every few seconds which revision its files hold; /health lists them.

import type { Queryable, Scope } from './journal-reads.ts';
import { isoText, revisionOf } from './rows.ts';

export interface HostSeen {
  host_id: string;
  /** The revision this host's files hold. */
  revision: number;
  /** Revisions behind the database. */
  lag: number;
  seen_at: string;
}

// seen_at is the database's clock, so "the last minute" means the same for every host. Keys past the
// window are never read again (every lookup filters on age): the heartbeat sweeps them on its way,
// a few at a time through the (account, created_at) index, so the table stays a day long.
const HEARTBEAT = `WITH expired AS (
    DELETE FROM balance_sync_idempotency_keys WHERE account = $1 AND created_at < now() - interval '24 hours'
  )
  INSERT INTO balance_sync_hosts (account, host_id, revision, seen_at) VALUES ($1, $2, $3, now())
  ON CONFLICT (account, host_id) DO UPDATE SET revision = excluded.revision, seen_at = excluded.seen_at`;

const HOSTS = `SELECT h.host_id, h.revision::text AS revision, (a.revision - h.revision)::text AS lag, ${isoText('h.seen_at')} AS seen_at
  FROM balance_sync_hosts h JOIN balance_sync_accounts a USING (account)
  WHERE h.account = $1 AND h.seen_at > now() - interval '1 minute'
  ORDER BY h.host_id`;

export async function heartbeat(db: Queryable, scope: Scope, revision: number): Promise<void> {
  await db.query(HEARTBEAT, [scope.account, scope.hostId, revision]);
}

const LAST_HEARD = `SELECT (extract(epoch FROM now() - seen_at) * 1000)::float8 AS ms FROM balance_sync_hosts WHERE account = $1 AND host_id = $2`;
const OTHER_ACCOUNTS = 'SELECT account FROM balance_sync_accounts WHERE account <> $1 ORDER BY account LIMIT 20';

/** How long ago (database clock, ms) this host id last said its revision on the account; null: never. */
export async function lastHeard(db: Queryable, scope: Scope): Promise<number | null> {
  const { rows } = await db.query<{ ms: number }>(LAST_HEARD, [scope.account, scope.hostId]);
  return rows[0] ? Math.max(0, rows[0].ms) : null;
}

export async function otherAccounts(db: Queryable, account: string): Promise<string[]> {
  return (await db.query<{ account: string }>(OTHER_ACCOUNTS, [account])).rows.map((row) => row.account);
}

export async function readHosts(db: Queryable, account: string): Promise<HostSeen[]> {
  const { rows } = await db.query<{ host_id: string; revision: string; lag: string; seen_at: string }>(HOSTS, [account]);
  return rows.map((row) => ({ host_id: row.host_id, revision: revisionOf(row.revision), lag: revisionOf(row.lag), seen_at: row.seen_at }));
}
