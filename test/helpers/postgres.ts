// A real PostgreSQL for the store tests: a fresh database each, dropped afterwards, and faults made real.

import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { connect, createServer, type AddressInfo, type Socket } from 'node:net';
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

/**
 * Stopping the cluster fails every other test using it meanwhile, this suite's store tests running in
 * parallel included: only when asked for, in a run of that test alone (CI does so in a step of its own).
 */
export const mayRestartCluster = process.env.BALANCE_SYNC_TEST_PG_RESTART === '1';

/** Runs one statement on a connection of its own, as the test role, on the admin database or on `url`'s. */
export async function adminQuery<Row extends pg.QueryResultRow = pg.QueryResultRow>(text: string, values: unknown[] = [], url = ADMIN_URL): Promise<Row[]> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 5_000 });
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
    // (pg_ctlcluster says so on stdout, exit code 2.)
    const { stdout = '', stderr = '' } = error as { stdout?: string; stderr?: string };
    if (!/already running/i.test(stdout + stderr)) throw error;
  }
}

/** A TCP relay between adapters and the real server, to fail the network on demand. */
export interface Relay {
  /** The database URL through the relay. */
  url: string;
  /** Drops every connection through it, as a network that resets them would. */
  cut(): void;
  /** While refusing, a new connection is closed as soon as it arrives. */
  refuse(on: boolean): void;
  /** While silent, no byte goes either way and nothing is closed: a network gone quiet. */
  silence(on: boolean): void;
  /**
   * The next client→server chunk containing `marker` is forwarded (or dropped) and then that
   * connection is cut, before any answer can come back; with `refuse`, new connections are refused
   * from that instant; with `silence`, the network goes silent from that instant; with `delayMs`, the
   * chunk reaches the server only that much later (still on its way through the network). Resolves
   * once the client's side is cut.
   */
  cutAt(marker: string, options: { forward: boolean; refuse?: boolean; silence?: boolean; delayMs?: number }): Promise<void>;
  close(): Promise<void>;
}

export async function startRelay(target: string): Promise<Relay> {
  const upstream = new URL(target);
  const pairs = new Set<{ client: Socket; server: Socket }>();
  let refusing = false;
  let silent = false;
  const held: (() => void)[] = [];
  let trap: { marker: string; forward: boolean; refuse: boolean; silence: boolean; delayMs: number; done: () => void } | null = null;

  const relay = createServer((client) => {
    if (refusing) return void client.destroy();
    const server = connect(Number(upstream.port || 5432), upstream.hostname);
    const pair = { client, server };
    pairs.add(pair);
    let trapped = false;
    const close = () => {
      pairs.delete(pair);
      client.destroy();
      if (!trapped) server.destroy();
    };
    client.on('error', close).on('close', close);
    server.on('error', close).on('close', close);
    const pass = (to: Socket, data: Buffer) => (silent ? held.push(() => to.write(data)) : to.write(data));
    client.on('data', (data) => {
      if (!trap || !data.includes(trap.marker)) return pass(server, data);
      const { forward, refuse, silence, delayMs, done } = trap;
      trap = null;
      trapped = true;
      refusing ||= refuse;
      silent ||= silence;
      client.destroy();
      // The server reads what it was sent before it notices the end of the connection.
      if (forward) setTimeout(() => server.end(data), delayMs);
      else server.destroy();
      done();
    });
    server.on('data', (data) => pass(client, data));
  });
  await new Promise<void>((resolve) => relay.listen(0, '127.0.0.1', resolve));
  const url = new URL(target);
  url.host = `127.0.0.1:${(relay.address() as AddressInfo).port}`;
  const cut = () => pairs.forEach(({ client, server }) => (client.destroy(), server.destroy()));
  return {
    url: url.toString(),
    cut,
    refuse: (on) => void (refusing = on),
    silence(on) {
      silent = on;
      if (!on) held.splice(0).forEach((write) => write());
    },
    cutAt: (marker, { forward, refuse = false, silence = false, delayMs = 0 }) => new Promise((done) => void (trap = { marker, forward, refuse, silence, delayMs, done })),
    async close() {
      cut();
      await new Promise((resolve) => relay.close(resolve));
    },
  };
}
