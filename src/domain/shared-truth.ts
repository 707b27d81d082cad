// The port for a truth several hosts share (DATABASE_URL; src/store/postgres is its adapter): the
// account's balance, journal and Idempotency-Keys, changed one transaction per batch, and followed.
// Without it the truth is this host's files and journal (the embedded default).

import type { Snapshot } from './change.ts';
import type { Remembered } from './commit/plan.ts';
import type { JournalEntry, RememberedKey } from './ports.ts';
import type { WriteBackHistory } from './stale-write-back.ts';

/** What a batch is decided from, inside the transaction that holds the account. */
export interface SharedContext {
  /** The account as it stands now, whichever host changed it last. */
  current: Snapshot;
  /** The batch's Idempotency-Keys the shared truth remembers, from any host. */
  remembered: ReadonlyMap<string, Remembered>;
  /** The shared clock: entries stamped with it are in order across hosts. */
  now: string;
  /** The shared journal since `revision`, for judging a write-back of `file` on this host. */
  writeBackHistory(revision: number, file: string): Promise<WriteBackHistory>;
}

/** What a batch decided: the balance it leads to and the entries that lead there (none: nothing to commit). */
export interface SharedDecision {
  snapshot: Snapshot;
  entries: readonly JournalEntry[];
}

export interface HostSeen {
  host_id: string;
  /** The revision this host's files hold. */
  revision: number;
  /** Revisions behind the shared truth. */
  lag: number;
  seen_at: string;
}

export interface SharedStatus {
  kind: 'postgres';
  reachable: boolean;
  error?: string;
}

export interface SharedTruth {
  readonly hostId: string;
  /** The account's name (ACCOUNT). */
  readonly account: string;
  /** The account as the shared truth holds it, or null when it holds no such account yet. */
  head(): Promise<Snapshot | null>;
  /** The first host brings its balance, journal and keys in; `exists` when another host was first. */
  importAccount(data: { snapshot: Snapshot; entries: readonly JournalEntry[]; keys: readonly RememberedKey[] }): Promise<'imported' | 'exists'>;
  /**
   * One transaction: `decide` runs with the account held (it may run more than once, and may stage
   * the files), and what it returns is committed. Contention between hosts is waited out, never
   * refused. A COMMIT whose answer was lost is looked up by `commitId` (applied: resolves). Rejects
   * with a 503 when nothing was applied, or when the outcome could not be looked up within the time
   * a change may take (SPEC: 503 within 5 s) — a 503 that says the outcome is unknown.
   */
  commit<D extends SharedDecision>(batch: { commitId: string; keys: readonly string[]; queuedAt?: number }, decide: (context: SharedContext) => D | Promise<D>): Promise<D>;
  recent(limit: number): Promise<JournalEntry[]>;
  writeBackHistory(revision: number, file: string): Promise<WriteBackHistory>;
  /** Told of every committed revision (a hint: read head() for the data), also after each reconnection. */
  follow(onRevision: (revision: number) => void): () => void;
  /** Says which revision this host's files hold; `hosts()` lists the account's hosts seen in the last minute. */
  heartbeat(revision: number): Promise<void>;
  hosts(): Promise<HostSeen[]>;
  /**
   * How long ago (ms) this host last said its revision for the account, or null when it never served
   * it: a restart, not a join, when it did.
   */
  lastHeard(): Promise<number | null>;
  /** Other accounts the shared truth holds (a few), for a start that would create a new one. */
  otherAccounts(): Promise<string[]>;
  status(): SharedStatus;
  onReachability(listener: (reachable: boolean, error?: string) => void): () => void;
}

/** The journal's source of a change made on `hostId`: `api@host-a`, `external:virtual_balance.json@host-a`. */
export const onHost = (entry: JournalEntry, hostId: string): JournalEntry => ({ ...entry, source: `${entry.source}@${hostId}` });
