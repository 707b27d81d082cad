// A look at the database that changes nothing — no migration, no lock, no row written — for
// `balance-sync doctor`: whether it answers, and what it holds for an account.

import pg from 'pg';
import { clientConfig } from './connection.ts';

export type Peek =
  | { reachable: false; error: string }
  | { reachable: true; tables: false }
  | { reachable: true; tables: true; account: { balance: string; revision: number; updatedAt: string } | null };

export async function peekAccount(url: string, account: string): Promise<Peek> {
  const client = new pg.Client(clientConfig({ url, applicationName: 'balance-sync doctor' }));
  client.on('error', () => {});
  try {
    await client.connect();
    await client.query('SET default_transaction_read_only = on');
    const { rows } = await client.query<{ exists: boolean }>("SELECT to_regclass('balance_sync_accounts') IS NOT NULL AS exists");
    if (!rows[0]?.exists) return { reachable: true, tables: false };
    const found = await client.query<{ balance: string; revision: string; updated_at: Date }>(
      'SELECT balance::text AS balance, revision, updated_at FROM balance_sync_accounts WHERE account = $1',
      [account],
    );
    const row = found.rows[0];
    return { reachable: true, tables: true, account: row ? { balance: row.balance, revision: Number(row.revision), updatedAt: row.updated_at.toISOString() } : null };
  } catch (error) {
    return { reachable: false, error: (error as NodeJS.ErrnoException).code ?? (error as Error).message };
  } finally {
    await client.end().catch(() => {});
  }
}
