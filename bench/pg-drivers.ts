// `npm run build && node dist/bench/pg-drivers.js [--n 2000] [--delay 1]`: the commit transaction of
// the PostgreSQL store run N times, one after another, by each driver — statement by statement, and
// pipelined where the driver can — and by the store itself, on a fresh database. p50/p99 per commit.
// `--delay <ms>` puts a relay that delays each direction by that much between the drivers and the
// server, for a database on another host (a relay in a thread of its own, off the measured loop;
// timers are coarse, so a round trip costs at least twice the delay).

import { randomBytes, randomUUID } from 'node:crypto';
import { parseArgs } from 'node:util';
import { Worker } from 'node:worker_threads';
import pg from 'pg';
import postgres from 'postgres';
import { asAmount, formatAmount } from '../src/domain/amount.ts';
import type { Snapshot } from '../src/domain/change.ts';
import type { JournalEntry } from '../src/domain/ports.ts';
import { LOCK_ACCOUNT, READ_KEYS, WRITE_BATCH, writeBatchValues, type Decision } from '../src/store/postgres/commit-transaction.ts';
import { loadMigrations, migrate } from '../src/store/postgres/migrate.ts';
import { PostgresStore } from '../src/store/postgres/postgres-store.ts';
import { snapshotOf, type SnapshotRow } from '../src/store/postgres/rows.ts';
import { median, percentile } from './stats.ts';

const { values: args } = parseArgs({ options: { n: { type: 'string', default: '2000' }, delay: { type: 'string', default: '0' } } });
const N = Number(args.n);
const DELAY = Number(args.delay);
const BLOCK = 100;
const ADMIN = process.env.BALANCE_SYNC_TEST_DATABASE_URL ?? 'postgres://balance_sync:balance_sync@127.0.0.1:5432/postgres';
const silent = { debug() {}, info() {}, warn() {}, error() {} };

/** One commit as the store makes it: a delta of 0.01 with an Idempotency-Key. */
function decide(current: Snapshot, now: string, key: string): Decision {
  const balance = asAmount(current.balance + 1_000_000n);
  const entry: JournalEntry = { revision: current.revision + 1, at: now, balance, previous: current.balance, source: 'api@bench', idempotency_key: key, request_hash: 'h' };
  return { snapshot: { balance, revision: entry.revision, updatedAt: now }, entries: [entry] };
}

const INITIAL: Snapshot = { balance: asAmount(10_000n * 100_000_000n), revision: 0, updatedAt: new Date().toISOString() };

type Variant = { name: string; once(): Promise<void>; close(): Promise<void> };

async function pgVariant(url: string, account: string, pipeline: boolean): Promise<Variant> {
  const client = new pg.Client({ connectionString: url, pipeline });
  await client.connect();
  const scope = { account, hostId: 'bench' };
  return {
    name: pipeline ? 'pg, pipelined (2 round trips)' : 'pg, one statement at a time (5 round trips)',
    async once() {
      const key = randomUUID();
      const lock = { name: 'lock', text: LOCK_ACCOUNT, values: [account] };
      const keys = { name: 'keys', text: READ_KEYS, values: [account, [key]] };
      let current: Snapshot;
      let now: string;
      if (pipeline) {
        const [, locked, read] = await Promise.all([client.query('BEGIN'), client.query<SnapshotRow>(lock), client.query(keys)]);
        [current, now] = [snapshotOf(locked.rows[0] as SnapshotRow), read.rows[0].now];
        const write = { name: 'write', text: WRITE_BATCH, values: writeBatchValues(scope, randomUUID(), current, decide(current, now, key)) };
        await Promise.all([client.query(write), client.query('COMMIT')]);
      } else {
        await client.query('BEGIN');
        current = snapshotOf((await client.query<SnapshotRow>(lock)).rows[0] as SnapshotRow);
        now = (await client.query(keys)).rows[0].now;
        await client.query({ name: 'write', text: WRITE_BATCH, values: writeBatchValues(scope, randomUUID(), current, decide(current, now, key)) });
        await client.query('COMMIT');
      }
    },
    close: () => client.end(),
  };
}

async function porsagerVariant(url: string, account: string, pipeline: boolean): Promise<Variant> {
  const sql = postgres(url, { max: 1, onnotice: () => {} });
  const scope = { account, hostId: 'bench' };
  const reserved = pipeline ? await sql.reserve() : null;
  const run = (db: Pick<postgres.Sql, 'unsafe'>, text: string, values: unknown[]) => db.unsafe(text, values as postgres.ParameterOrJSON<never>[], { prepare: true });
  return {
    name: pipeline ? 'postgres, pipelined on a reserved connection (2 round trips)' : 'postgres, sql.begin, one statement at a time (5 round trips)',
    async once() {
      const key = randomUUID();
      if (reserved) {
        const [, locked, read] = await Promise.all([reserved`BEGIN`, run(reserved, LOCK_ACCOUNT, [account]), run(reserved, READ_KEYS, [account, [key]])]);
        const current = snapshotOf(locked[0] as unknown as SnapshotRow);
        await Promise.all([run(reserved, WRITE_BATCH, writeBatchValues(scope, randomUUID(), current, decide(current, read[0]?.now, key))), reserved`COMMIT`]);
      } else {
        await sql.begin(async (tx) => {
          const current = snapshotOf((await run(tx, LOCK_ACCOUNT, [account]))[0] as unknown as SnapshotRow);
          const now = (await run(tx, READ_KEYS, [account, [key]]))[0]?.now;
          await run(tx, WRITE_BATCH, writeBatchValues(scope, randomUUID(), current, decide(current, now, key)));
        });
      }
    },
    async close() {
      reserved?.release();
      await sql.end();
    },
  };
}

async function storeVariant(url: string, account: string): Promise<Variant> {
  const store = await PostgresStore.open({ url, account, hostId: 'bench', log: silent });
  await store.importAccount({ snapshot: INITIAL, entries: [], keys: [] });
  return {
    name: 'the store: commit() on pg, pipelined',
    async once() {
      const key = randomUUID();
      await store.commit({ commitId: randomUUID(), keys: [key] }, ({ current, now }) => decide(current, now, key));
    },
    close: () => store.close(),
  };
}

// Bytes are delayed in arrival order on each direction, so the protocol's order is kept.
const RELAY = `
const net = require('node:net');
const { parentPort, workerData: { host, port, delay } } = require('node:worker_threads');
const server = net.createServer((client) => {
  const server = net.connect(port, host);
  server.setNoDelay(true);
  client.setNoDelay(true);
  const pipe = (from, to) => from.on('data', (d) => setTimeout(() => to.write(d), delay)).on('close', () => to.destroy()).on('error', () => to.destroy());
  pipe(client, server);
  pipe(server, client);
});
server.listen(0, '127.0.0.1', () => parentPort.postMessage(server.address().port));
`;

async function relayed(target: string): Promise<{ url: string; worker: Worker | null }> {
  if (DELAY <= 0) return { url: target, worker: null };
  const parsed = new URL(target);
  const worker = new Worker(RELAY, { eval: true, workerData: { host: parsed.hostname, port: Number(parsed.port || 5432), delay: DELAY } });
  const port = await new Promise<number>((resolve) => worker.once('message', resolve));
  return { url: Object.assign(parsed, { host: `127.0.0.1:${port}` }).toString(), worker };
}

const admin = new pg.Client({ connectionString: ADMIN });
await admin.connect();
const database = `balance_sync_bench_${randomBytes(4).toString('hex')}`;
await admin.query(`CREATE DATABASE ${database}`);
const url = Object.assign(new URL(ADMIN), { pathname: `/${database}` }).toString();
try {
  const setup = new pg.Client({ connectionString: url });
  await setup.connect();
  await migrate(setup, await loadMigrations());
  const accounts = ['pg-serial', 'pg-pipelined', 'postgres-serial', 'postgres-pipelined'];
  for (const account of accounts) {
    await setup.query('INSERT INTO balance_sync_accounts VALUES ($1, $2, 0, now())', [account, formatAmount(INITIAL.balance)]);
  }
  await setup.end();
  const relay = await relayed(url);
  const via = relay.url;
  const variants = [
    await pgVariant(via, 'pg-serial', false),
    await pgVariant(via, 'pg-pipelined', true),
    await porsagerVariant(via, 'postgres-serial', false),
    await porsagerVariant(via, 'postgres-pipelined', true),
    await storeVariant(via, 'store'),
  ];
  // Warm up (prepared statements, caches), then take turns in blocks so drift hits every variant alike.
  for (const variant of variants) for (let i = 0; i < BLOCK; i++) await variant.once();
  const samples = new Map(variants.map((v) => [v.name, [] as number[]]));
  for (let done = 0; done < N; done += BLOCK) {
    for (const variant of variants) {
      const into = samples.get(variant.name) as number[];
      for (let i = 0; i < Math.min(BLOCK, N - done); i++) {
        const started = performance.now();
        await variant.once();
        into.push(performance.now() - started);
      }
    }
  }
  for (const variant of variants) await variant.close();
  await relay.worker?.terminate();
  const version = (await admin.query('SHOW server_version')).rows[0].server_version;
  console.log(`commit transaction (lock, key lookup, journal + key + account + NOTIFY, COMMIT), ${N} serial commits each, PostgreSQL ${version}, ${DELAY > 0 ? `each direction delayed ${DELAY} ms` : 'loopback'}`);
  console.log(`${'variant'.padEnd(64)} ${'p50 ms'.padStart(8)} ${'p99 ms'.padStart(8)} ${'commits/s'.padStart(10)}`);
  for (const [name, values] of samples) {
    const total = values.reduce((a, b) => a + b, 0);
    console.log(`${name.padEnd(64)} ${median(values).toFixed(3).padStart(8)} ${percentile(values, 99).toFixed(3).padStart(8)} ${((values.length / total) * 1000).toFixed(0).padStart(10)}`);
  }
} finally {
  await admin.query(`DROP DATABASE IF EXISTS ${database} WITH (FORCE)`);
  await admin.end();
}
