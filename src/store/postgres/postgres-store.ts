// The shared truth in PostgreSQL: one account's balance, journal and Idempotency-Keys, for every host.
//
// Schema (migrations/, applied at open under an advisory lock; every name begins balance_sync_):
// - accounts: one row per ACCOUNT — balance numeric(21,8), revision, updated_at. Several accounts share
//   a database; every statement names its account.
// - journal: one row per revision, PRIMARY KEY (account, revision): two commits can never both write
//   revision N. commit_id names the transaction that wrote a row, host_id the host.
// - idempotency_keys: (account, key) → request hash and the answer; created_at on the database's
//   clock, so the 24 h window means the same on every host. Heartbeats sweep expired ones.
// - hosts: (account, host_id) → the revision that host's files hold, seen_at (database clock).
// Amounts travel as decimal text (formatAmount ↔ numeric ↔ ::text ↔ parseAmount), never as doubles.
//
// Locking: a commit is one READ COMMITTED transaction that starts with SELECT … FOR UPDATE on the
// account's row. Hosts committing to one account therefore queue on that row, each deciding (the
// domain's pure planBatch) from exactly the balance, revision and keys the previous one left, so
// revisions are one gapless sequence and no delta is lost — with no serialization failures to retry
// in the normal course (SERIALIZABLE would turn every contended commit into a retry). The statements
// after the lock take fresh snapshots, so they see the keys the transaction we queued behind wrote.
// Retries remain for what cannot be ruled out (deadlock, serialization failure, a connection lost
// before COMMIT): a commit is retried, never surfaced, within its deadline. One group-commit batch is
// one transaction and two round trips: BEGIN + lock + keys, then writes + NOTIFY + COMMIT (pipelined).
//
// Lost answers: a commit's journal rows carry its commit_id. When the connection drops after COMMIT
// was sent, the commit waits (FOR SHARE) until no transaction holds the account's lock any more and
// then looks its id up: applied is success, absent is tried again. When the database cannot be asked
// in time the caller gets CommitOutcomeUnknownError and asks later with outcomeOf(commitId).
//
// Following: a dedicated connection LISTENs on balance_sync (payload: account and revision, sent at
// COMMIT) and reconnects by itself; after each (re)connection it reads the account's revision, so a
// notification missed while disconnected costs nothing. The same connection is probed every second:
// status() turns unreachable within ~2.5 s of the database going silent, at once when it refuses.
//
// Driver: pg, chosen by bench/pg-drivers.ts. Both drivers commit at the same speed (loopback ~0.6 ms,
// fsync-bound; with ~2.5 ms round trips ~6 ms pipelined against ~13 ms statement by statement), so
// pipelining matters and the driver does not. pg won on control: a connection can be cut at a
// deadline (what tells "not applied" from "unknown" apart), connect and read timeouts, session
// settings as options, SQLSTATEs on every error. porsager's listen() reconnects by itself, but with a
// back-off that grows to 20 s and no probe; /health needs a probed connection anyway (listener.ts).

import pg from 'pg';
import type { Snapshot } from '../../domain/change.ts';
import type { JournalEntry, Log } from '../../domain/ports.ts';
import type { WriteBackHistory } from '../../domain/stale-write-back.ts';
import { commitBatch, type CommitCounters } from './commit.ts';
import type { Batch, Decide, Decision } from './commit-transaction.ts';
import { clientConfig, createPool, describe, isLinkFailure } from './connection.ts';
import { PostgresUnavailableError } from './errors.ts';
import { heartbeat, lastHeard, otherAccounts, readHosts, type HostSeen } from './fleet.ts';
import { importAccount, type AccountImport } from './import-account.ts';
import { readEntriesSince, readHead, readRecent, readWriteBackHistory, type Scope } from './journal-reads.ts';
import { Listener, type RevisionListener } from './listener.ts';
import { loadMigrations, migrate } from './migrate.ts';
import { outcomeOf, type Outcome } from './outcome.ts';
import { Reachability, type ReachabilityListener, type StoreStatus } from './reachability.ts';

export interface PostgresStoreOptions {
  url: string;
  account: string;
  hostId: string;
  log: Log;
  /** How this host's connections are named in pg_stat_activity (the listener's gets `/listen`). */
  applicationName?: string;
  /**
   * A commit that has not committed by then fails with 503 (default 3.5 s). A lost COMMIT is then
   * looked up for up to 1 s more: inside the 5 s the SPEC gives a change.
   */
  commitTimeoutMs?: number;
}

export class PostgresStore {
  private readonly scope: Scope;
  private readonly counters: CommitCounters = { committed: 0, conflictsRetried: 0, connectionsLost: 0, outcomesResolved: 0 };
  private closing: Promise<void> | undefined;

  private constructor(
    private readonly pool: pg.Pool,
    private readonly listener: Listener,
    private readonly reachability: Reachability,
    private readonly options: PostgresStoreOptions,
  ) {
    this.scope = { account: options.account, hostId: options.hostId };
  }

  /** Connects, migrates the schema, and starts listening. Throws PostgresUnavailableError if the database cannot be reached. */
  static async open(options: PostgresStoreOptions): Promise<PostgresStore> {
    const settings = { url: options.url, applicationName: options.applicationName ?? `balance-sync@${options.hostId}` };
    const migrations = await loadMigrations();
    const client = new pg.Client(clientConfig(settings, '/migrate'));
    try {
      await client.connect();
      const { from, to } = await migrate(client, migrations);
      if (from !== to) options.log.info({ from, to }, 'migrated the balance database');
    } catch (error) {
      throw isLinkFailure(error) ? new PostgresUnavailableError(describe(error), error) : error;
    } finally {
      await client.end().catch(() => {});
    }
    const reachability = new Reachability();
    const pool = createPool(settings, (error) => options.log.debug({ err: error }, 'an idle connection to the balance database was dropped'));
    const listener = new Listener(settings, options.account, reachability, options.log);
    await listener.start();
    return new PostgresStore(pool, listener, reachability, options);
  }

  get account(): string {
    return this.scope.account;
  }

  get hostId(): string {
    return this.scope.hostId;
  }

  /** The account as the database holds it, or null before any host imported it. */
  head(): Promise<Snapshot | null> {
    return this.guard(() => readHead(this.pool, this.scope.account));
  }

  /** Brings this host's balance, journal and young keys in, atomically — unless another host was first. */
  importAccount(data: AccountImport): Promise<'imported' | 'exists'> {
    return this.guard(() => importAccount(this.pool, this.scope, data));
  }

  /** One transaction for a batch; see commit.ts for what it throws. `decide` may run more than once. */
  commit<D extends Decision>(batch: Batch, decide: Decide<D>): Promise<D> {
    return commitBatch({ pool: this.pool, scope: this.scope, reachability: this.reachability, log: this.options.log, timeoutMs: this.options.commitTimeoutMs ?? 3_500, counters: this.counters }, batch, decide);
  }

  /** Whether the commit named `commitId` was applied; waits out a transaction still holding the account. */
  outcomeOf(commitId: string, timeoutMs = 4_000): Promise<Outcome> {
    return this.guard(() => outcomeOf(this.pool, this.scope.account, commitId, timeoutMs));
  }

  /** Entries after `revision`, oldest first, at most `limit` (ask again from the last one for more). */
  entriesSince(revision: number, limit = 1_000): Promise<JournalEntry[]> {
    return this.guard(() => readEntriesSince(this.pool, this.scope.account, revision, limit));
  }

  recent(limit: number): Promise<JournalEntry[]> {
    return this.guard(() => readRecent(this.pool, this.scope.account, limit));
  }

  writeBackHistory(revision: number, file: string): Promise<WriteBackHistory> {
    return this.guard(() => readWriteBackHistory(this.pool, this.scope, revision, file));
  }

  /** Calls back with committed revisions: pushed, and read again after every reconnection. Returns the unsubscribe. */
  follow(onRevision: RevisionListener): () => void {
    return this.listener.follow(onRevision);
  }

  /** This host is alive and its files hold `revision`; call every few seconds. */
  heartbeat(revision: number): Promise<void> {
    return this.guard(() => heartbeat(this.pool, this.scope, revision));
  }

  /** The account's hosts seen in the last minute, with their lag behind the database. */
  hosts(): Promise<HostSeen[]> {
    return this.guard(() => readHosts(this.pool, this.scope.account));
  }

  /** How long ago this HOST_ID last said its revision for the account (ms), or null: never — a join. */
  lastHeard(): Promise<number | null> {
    return this.guard(() => lastHeard(this.pool, this.scope));
  }

  /** The database's other accounts (a few): a mistyped ACCOUNT would otherwise start a new one unnoticed. */
  otherAccounts(): Promise<string[]> {
    return this.guard(() => otherAccounts(this.pool, this.scope.account));
  }

  status(): StoreStatus {
    return this.reachability.status();
  }

  onReachability(listener: ReachabilityListener): () => void {
    return this.reachability.listen(listener);
  }

  commitCounters(): Readonly<CommitCounters> {
    return { ...this.counters };
  }

  /** Ends the listener and every pooled connection; closing twice is harmless. */
  close(): Promise<void> {
    this.closing ??= this.listener.close().then(() => this.pool.end());
    return this.closing;
  }

  /** A read that fails on its link is a 503 for the caller and a hint for the probe. */
  private async guard<T>(read: () => Promise<T>): Promise<T> {
    try {
      return await read();
    } catch (error) {
      if (error instanceof PostgresUnavailableError || !isLinkFailure(error)) throw error;
      this.reachability.suspect();
      throw new PostgresUnavailableError(describe(error), error);
    }
  }
}
