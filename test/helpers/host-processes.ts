// Hosts of one shared balance as real server processes on one machine: each its own port, data
// folder and HOST_ID, all on one database — and what each serves and holds, read exactly.

import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { beforeAll, beforeEach, expect } from 'vitest';
import { parseAmount, type Amount } from '../../src/domain/amount.ts';
import { adminQuery, freshDatabase, uniqueName } from './postgres.ts';
import { json, startServer, type ServerProcess } from './server-process.ts';
import { ATS, VB } from './service.ts';
import { tempDir } from './temp-dir.ts';
import { waitFor } from './wait.ts';

export interface Host {
  id: string;
  dir: string;
  url: string;
  server: ServerProcess;
}

/** Where the hosts of one test keep their truth: an account of their own (a test file's tests share a fresh database). */
export interface Shared {
  databaseUrl: string;
  account: string;
}

/** A fresh database for a test file (dropped after it). */
export const sharedDatabase = (): Promise<string> => freshDatabase();

/** A new account on `databaseUrl`, for one test. */
export const newAccount = (databaseUrl: string): Shared => ({ databaseUrl, account: uniqueName('account') });

/**
 * For a describe block: one fresh database for its tests, and a new account in it for every test. The
 * object stays the same; its fields are the running test's.
 */
export function accountPerTest(): Shared {
  const shared: Shared = { databaseUrl: '', account: '' };
  let database = '';
  beforeAll(async () => {
    database = await sharedDatabase();
  });
  beforeEach(() => {
    Object.assign(shared, newAccount(database));
  });
  return shared;
}

/**
 * Starts a host on `shared` (its data folder fresh unless given). Host ids are unique per test, so a
 * test can find (and kill) its hosts' connections by application_name: `balance-sync <id>%`.
 */
export async function startHost(shared: Shared, name: string, options: { id?: string; dir?: string; env?: Record<string, string> } = {}): Promise<Host> {
  const id = options.id ?? uniqueName(name);
  const dir = options.dir ?? (await tempDir());
  const server = await startServer({ DATA_DIR: dir, DATABASE_URL: shared.databaseUrl, ACCOUNT: shared.account, HOST_ID: id, ...options.env });
  return { id, dir, url: server.url, server };
}

/** The same host (id and folder) started again, after a kill or a stop. */
export const restartHost = async (shared: Shared, host: Host): Promise<Host> => startHost(shared, host.id, { id: host.id, dir: host.dir });

/** The first host brings the account in, then the others join it, together; or all `together`. */
export async function startHosts(shared: Shared, names: readonly string[], { together = false } = {}): Promise<Host[]> {
  if (together) return Promise.all(names.map((name) => startHost(shared, name)));
  const [first, ...others] = names;
  const host = await startHost(shared, first as string);
  return [host, ...(await Promise.all(others.map((name) => startHost(shared, name))))];
}

/** An amount read exactly: a JSON number the service wrote has at most 8 decimals, and its shortest text is that. */
export function exact(value: unknown): Amount {
  const parsed = parseAmount(value, { allowNegative: true });
  if (!parsed.ok) throw new Error(`not an amount: ${JSON.stringify(value)} (${parsed.message})`);
  return parsed.value;
}

/** `"12.34"` in units of 1e-8, for the deltas a test sends. */
export const amount = (text: string): Amount => exact(text);

export interface Reading {
  balance: Amount;
  revision: number;
}

export async function served(host: Host): Promise<Reading> {
  const { status, body } = await json(`${host.url}/virtual_balance`);
  if (status !== 200) throw new Error(`GET /virtual_balance on ${host.id} answered ${status}`);
  return { balance: exact(body.balance), revision: body.revision };
}

/** Each of the host's two files: its balance and the revision the service recorded in it. */
export async function files(host: Host): Promise<Reading[]> {
  return Promise.all(
    [VB, ATS].map(async (name) => {
      const file = JSON.parse(await readFile(join(host.dir, name), 'utf8'));
      return { balance: exact(file.balance), revision: file._balance_sync?.revision };
    }),
  );
}

/** The account as the database holds it. */
export async function head(shared: Shared): Promise<Reading> {
  const [row] = await adminQuery<{ balance: string; revision: string }>(
    'SELECT balance::text AS balance, revision::text AS revision FROM balance_sync_accounts WHERE account = $1',
    [shared.account],
    shared.databaseUrl,
  );
  if (!row) throw new Error(`the database holds no account ${shared.account}`);
  return { balance: exact(row.balance), revision: Number(row.revision) };
}

/** How often each reason starting with `prefix` (test clients give each delta its key as reason) is in the shared journal. */
export async function journalReasons(shared: Shared, prefix: string): Promise<Map<string, number>> {
  const rows = await adminQuery<{ key: string; count: string }>(
    "SELECT reason AS key, count(*) AS count FROM balance_sync_journal WHERE account = $1 AND starts_with(reason, $2) GROUP BY 1 ORDER BY 1",
    [shared.account, prefix],
    shared.databaseUrl,
  );
  return new Map(rows.map((row) => [row.key, Number(row.count)]));
}

/** Whether the host serves `reading`, and both its files hold it. */
async function holds(host: Host, reading: Reading): Promise<boolean> {
  const all = [await served(host), ...(await files(host).catch(() => []))];
  return all.length === 3 && all.every((r) => r.balance === reading.balance && r.revision === reading.revision);
}

/**
 * The database holds `expected`, and within `timeoutMs` every host serves it, at the database's
 * revision, and both of its files hold it (balance and revision).
 */
export async function expectEveryHostHolds(shared: Shared, hosts: readonly Host[], expected: Amount, timeoutMs = 2_000): Promise<Reading> {
  const truth = await head(shared);
  expect(truth.balance).toBe(expected);
  for (const host of hosts) {
    await waitFor(() => holds(host, truth), timeoutMs, `${host.id} to hold ${truth.balance} at revision ${truth.revision}`).catch(async (error: Error) => {
      throw new Error(`${error.message}: serves ${JSON.stringify(await served(host), big)}, files ${JSON.stringify(await files(host), big)}`);
    });
  }
  return truth;
}

const big = (_: string, value: unknown) => (typeof value === 'bigint' ? value.toString() : value);

/** Log lines of a host at warn (40) or above whose message starts with `text`. */
export const warnings = (host: Host, text: string) => host.server.logs.filter((line) => Number(line.level) >= 40 && String(line.msg).startsWith(text));
