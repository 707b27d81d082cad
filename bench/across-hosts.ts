// One balance across hosts (issue 20): hosts as real service processes on this machine, each with
// its own data folder, port and HOST_ID, all on a fresh PostgreSQL database. A POST on one host
// against the same transaction run by the bare driver plus the durable floor; a change on host A
// served by host B; 3 hosts × 16 writers against 1 host × 48. Skipped, with a note, without PostgreSQL.

import { randomBytes } from 'node:crypto';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import pg from 'pg';
import { measureCrossHost, measureHostPost, measureHostThroughput } from './across-hosts-rows.ts';
import { launch, type Child } from './children.ts';
import { skipped } from './report.ts';

const ADMIN = process.env.BALANCE_SYNC_TEST_DATABASE_URL ?? 'postgres://balance_sync:balance_sync@127.0.0.1:5432/postgres';
const ACCOUNT = 'bench';

async function admin<T>(url: string, work: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 2_000 });
  await client.connect();
  try {
    return await work(client);
  } finally {
    await client.end();
  }
}

export interface BenchHost {
  id: string;
  url: string;
  dir: string;
  child: Child;
}

export async function measureAcrossHosts(serverScript: string, work: string): Promise<void> {
  const shown = Object.assign(new URL(ADMIN), { password: '' }).toString();
  const reachable = await admin(ADMIN, async () => true).catch(() => false);
  if (!reachable) return skipped('across-hosts', `no PostgreSQL answers at ${shown} (set BALANCE_SYNC_TEST_DATABASE_URL)`);

  const database = `balance_sync_bench_${randomBytes(4).toString('hex')}`;
  await admin(ADMIN, (client) => client.query(`CREATE DATABASE ${database}`));
  const databaseUrl = Object.assign(new URL(ADMIN), { pathname: `/${database}` }).toString();
  const hosts: BenchHost[] = [];
  const start = async (id: string) => {
    const dir = join(work, `host-${id}`);
    await mkdir(dir);
    const child = await launch(serverScript, [], { DATA_DIR: dir, DATABASE_URL: databaseUrl, ACCOUNT, HOST_ID: id });
    hosts.push({ id, dir, child, url: `http://127.0.0.1:${child.port}` });
    return hosts.at(-1) as BenchHost;
  };
  try {
    // One host alone first: nothing else writes files or follows its commits while its POST is timed.
    const a = await start('a');
    await admin(databaseUrl, (client) => client.query("INSERT INTO balance_sync_accounts VALUES ('bench-bare', 10000, 0, now())"));
    await measureHostPost(a, databaseUrl, work);
    const b = await start('b');
    await measureCrossHost(a, b);
    await start('c');
    await measureHostThroughput(hosts);
  } finally {
    await Promise.all(hosts.map((host) => host.child.stop()));
    await admin(ADMIN, (client) => client.query(`DROP DATABASE IF EXISTS ${database} WITH (FORCE)`));
  }
}
