// A real PostgreSQL for the store tests: a fresh database each, dropped afterwards, and faults made real.

import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { promisify } from 'node:util';
import pg from 'pg';
import { afterAll } from 'vitest';

export const ADMIN_URL = process.env.BALANCE_SYNC_TEST_DATABASE_URL ?? 'postgres://balance_sync:balance_sync@127.0.0.1:5432/postgres';

/** The Debian cluster (version and name) the fault tests stop and start. */
const CLUSTER = (process.env.BALANCE_SYNC_TEST_PG_CLUSTER ?? '15 main').split(' ');

async function reachable(): Promise<boolean> {
  const client = new pg.Client({ connectionString: ADMIN_URL, connectionTimeoutMillis: 2_000 });
  try {
    await client.connect();
    await client.query('SELECT 1');
    return true;
  } catch {
    return false;
  } finally {
    await client.end().catch(() => {});
  }
}

// Without a reachable PostgreSQL the store tests are skipped, except in CI, where they must fail loudly.
export const postgresMissing = process.env.CI !== 'true' && !(await reachable());

/** Stopping the cluster disturbs everyone using it: only where that was allowed (CI, or asked for). */
export const mayRestartCluster = process.env.CI === 'true' || process.env.BALANCE_SYNC_TEST_PG_RESTART === '1';

/** Runs one statement as the admin role on the admin database, on a connection of its own. */
export async function adminQuery<Row extends pg.QueryResultRow = pg.QueryResultRow>(text: string, values: unknown[] = []): Promise<Row[]> {
  const client = new pg.Client({ connectionString: ADMIN_URL, connectionTimeoutMillis: 5_000 });
  await client.connect();
  try {
    return (await client.query<Row>(text, values)).rows;
  } finally {
    await client.end();
  }
}

const created: string[] = [];
afterAll(async () => {
  // FORCE: an adapter a failed test left open must not keep its database alive.
  for (const name of created.splice(0)) await adminQuery(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
});

/** A new, empty database, dropped after the file's tests; returns its URL. */
export async function freshDatabase(): Promise<string> {
  const name = `balance_sync_test_${randomBytes(6).toString('hex')}`;
  await adminQuery(`CREATE DATABASE ${name}`);
  created.push(name);
  const url = new URL(ADMIN_URL);
  url.pathname = `/${name}`;
  return url.toString();
}

/** A name no other test uses: tests share a file's database, each with accounts of its own. */
export const uniqueName = (prefix: string) => `${prefix}-${randomBytes(4).toString('hex')}`;

/**
 * Kills the server processes of every connection whose application_name is LIKE `pattern`, as an
 * operator or a failing network would; returns how many there were.
 */
export async function terminateBackends(pattern: string): Promise<number> {
  const rows = await adminQuery<{ terminated: boolean }>(
    'SELECT pg_terminate_backend(pid) AS terminated FROM pg_stat_activity WHERE application_name LIKE $1 AND pid <> pg_backend_pid()',
    [pattern],
  );
  return rows.filter((row) => row.terminated).length;
}

/** How many connections whose application_name is LIKE `pattern` the server holds. */
export async function countBackends(pattern: string): Promise<number> {
  const rows = await adminQuery<{ count: string }>('SELECT count(*) AS count FROM pg_stat_activity WHERE application_name LIKE $1', [pattern]);
  return Number(rows[0]?.count ?? 0);
}

const run = promisify(execFile);

export async function stopCluster(): Promise<void> {
  await run('pg_ctlcluster', [...CLUSTER, 'stop', '--mode', 'fast']);
}

/** Starts the cluster; one already running is fine. */
export async function startCluster(): Promise<void> {
  try {
    await run('pg_ctlcluster', [...CLUSTER, 'start']);
  } catch (error) {
    if (!/already running/i.test(String((error as { stderr?: string }).stderr ?? error))) throw error;
  }
}
