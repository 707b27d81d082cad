// The interfaces the balance service needs from storage; adapters in src/store implement them.

import type { Amount } from './amount.ts';
import type { FileState } from './reconcile.ts';
import type { WriteBackHistory } from './stale-write-back.ts';

/** Where the domain reports what it did; pino's logger is one. */
export interface Log {
  debug(details: object, message: string): void;
  info(details: object, message: string): void;
  warn(details: object, message: string): void;
  error(details: object, message: string): void;
}

/** Which of the two files a store is: the sidebar's balance file or the panel's trading state. */
export type FileRole = 'balance' | 'trading';

/** What the service writes into a file: the balance and the keys it owns beside it. */
export interface BalanceRecord {
  balance: Amount;
  revision: number;
  /** ISO time of the change that produced this balance. */
  updatedAt: string;
}

export interface Observation {
  state: FileState;
  /** The file is the service's own last write, byte for byte. */
  isOwnWrite: boolean;
}

/** Writes that other processes made into versions of the file the service had already replaced. */
export interface StrayWrites {
  /** Whole writes (a stalled writer that finished, a write that met a rename), oldest first. */
  finished: Observation[];
  /** `.corrupt-` copies made of writes still broken when their window ended: real garbage. */
  kept: string[];
}

/** A store refuses to write over a version of its file that it has not read: another process just wrote it. */
export class FileChangedError extends Error {
  constructor(readonly file: string) {
    super(`${file} changed on disk since it was last read`);
    this.name = 'FileChangedError';
  }
}

/** A new version of a file, fsynced and waiting to take the file's place. */
export interface PreparedWrite {
  /**
   * The last look before the rename: throws FileChangedError, changing nothing, when the file is no
   * longer the version last read or written (an outside edit is adopted, not overwritten). A save
   * looks at every file before it renames any, so that a race costs a retry, never a rollback.
   * `overwrite`: a save that raced too often in a row puts its version in place all the same; the
   * outside edit stays in the version it replaces, and is merged from there (strayWrites).
   */
  lastLook(options?: { overwrite?: boolean }): Promise<void>;
  /** Makes the new version durable, when prepare() was told to leave that for later; commit() does it first anyway. */
  fsync(): Promise<void>;
  /** Puts it in place (a rename, durable once the folder is synced); takes the last look first unless it was taken. */
  commit(): Promise<void>;
  /** Throws it away: instead of commit(), or after a commit that failed. */
  discard(): Promise<void>;
  /**
   * After commit(): puts the file's previous version back, as it was (an outside edit it held stays,
   * to be adopted again); a file that did not exist gets `fallback`. A file another process has
   * written since holds nothing of this write to take back: it is left to be adopted. Durable once
   * the folder is synced.
   */
  revert(fallback: BalanceRecord): Promise<void>;
}

/** A file could not be read or written (disk full, read-only, a folder in its place): a fault, not a race. */
export class FileFaultError extends Error {
  constructor(
    readonly file: string,
    readonly fault: unknown,
  ) {
    super(`${file}: ${(fault as Error)?.message ?? String(fault)}`);
    this.name = 'FileFaultError';
  }
}

/** Rethrows a store's failure naming its file (a fault); a race stays a race, to be tried again. */
export const asFileFault =
  (file: string) =>
  (error: unknown): never => {
    throw error instanceof FileChangedError || error instanceof FileFaultError ? error : new FileFaultError(file, error);
  };

export interface BalanceStore {
  /** The file's name inside the data folder (configurable). */
  readonly name: string;
  readonly role: FileRole;
  /** Reads the file as it is now; a file that does not parse is re-read once it stops changing. */
  read(): Promise<Observation>;
  /** Cheap check (stat) whether the file differs from the version last read or written, or a replaced version was written to. */
  hasChanged(): Promise<boolean>;
  /**
   * Writes other processes made into versions the service replaced: a stalled writer finishing in a
   * version that was healed over, or a write that landed between the last look and the rename.
   * Their fields are taken over when newer; the file is rewritten at the next save.
   */
  strayWrites(): Promise<StrayWrites>;
  /**
   * The first half of an atomic write of `record`, keeping every field the service does not own:
   * its new version, fsynced beside the file, not yet visible. `deferFsync`: written (a full disk
   * fails here) but fsynced only by fsync() or commit().
   */
  prepare(record: BalanceRecord, options?: { deferFsync?: boolean }): Promise<PreparedWrite>;
  /**
   * Keeps the bytes of the version now in place as `<file>.corrupt-<UTC timestamp>` in the data
   * folder, before the service overwrites it; returns the copy's name. Nothing is moved.
   */
  keepCopy(): Promise<string>;
  /** The last version seen (read or written): its balance if valid and current (null: to be rewritten), and its mtime. */
  lastSeen(): { balance: Amount | null; mtimeMs: number | null };
  /** Every field of the last valid object read or written, the service's own key left out. */
  fields(): Readonly<Record<string, unknown>>;
  /** Lets go of what it holds open (the service is closing). */
  close?(): void;
}

export interface JournalEntry {
  revision: number;
  at: string;
  balance: Amount;
  previous: Amount | null;
  source: string;
  reason?: string;
  idempotency_key?: string;
  /** Fingerprint of route and body, so a key reused with another body is told apart after restarts. */
  request_hash?: string;
  /**
   * An outside write booked on top of the balance (SPEC's booking rule): the balance its writer put into
   * the file, which is not the balance it led to. What a later write of the same file echoes is this.
   */
  written?: Amount;
  /**
   * An outside write that carried the service's revision (`_balance_sync.revision`): that revision. A
   * later write of the file carrying it again is judged against this entry's `written` (booking.ts).
   */
  basedOn?: number;
}

/** Whether the journal on disk holds every acknowledged change and key (`/health` reports it). */
export interface JournalHealth {
  file: string;
  /** False while it can neither be written nor put back: changes are refused until it is whole again. */
  ok: boolean;
  problem?: string;
  /** The last time it had to be re-created from memory while the service ran, and why. */
  recreated?: { at: string; reason: string; movedAside?: string };
}

/** A remembered change with an Idempotency-Key, and how long ago it was made as the journal's own order tells it. */
export interface RememberedKey {
  entry: JournalEntry;
  ageMs: number;
}

export interface JournalPort {
  last(): JournalEntry | null;
  /** Appends and fsyncs; the returned function takes the lines back out (the files could not follow). */
  append(entries: readonly JournalEntry[]): Promise<() => Promise<void>>;
  /** Bounds disk use after a successful commit. */
  compact(): Promise<void>;
  /** What the journal knows since `revision`, for judging a write-back of `file` (see stale-write-back.ts). */
  writeBackHistory(revision: number, file: string): Promise<WriteBackHistory>;
  /** Every entry with an Idempotency-Key younger than 24 h, judged by the journal's order, not by `at` alone. */
  keysInWindow(): RememberedKey[];
  health(): JournalHealth;
  onHealthChange(listener: (health: JournalHealth) => void): void;
}
