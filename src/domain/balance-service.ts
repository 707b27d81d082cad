// The one truth about the balance: reconciles the files at start-up and serializes every change
// through a single commit path (journal first, then both files) that batches queued changes.

import { EventEmitter } from 'node:events';
import type { Amount } from './amount.ts';
import { applyChange, toRecord, type ChangeRequest, type Snapshot } from './change.ts';
import { HttpError, IdempotencyConflictError, StorageUnavailableError } from './errors.ts';
import { IDEMPOTENCY_WINDOW_MS, IdempotencyMemory } from './idempotency.ts';
import { observeOutsideEdits } from './outside-edits.ts';
import { FileChangedError, type BalanceStore, type JournalEntry, type JournalPort, type Log } from './ports.ts';
import { settleFromDisk } from './settle-from-disk.ts';

/** A point in the write path where a test may crash the process: the journal, or a file's name. */
export type WriteStep = string;

export interface BalanceServiceOptions {
  /** In write order: the balance file first, then the trading state. */
  stores: readonly BalanceStore[];
  journal: JournalPort & { since(sinceMs: number): Promise<JournalEntry[]> };
  /** Makes every rename in the files' folder durable: one call after both files are written. */
  syncFolder: () => Promise<void>;
  initialBalance: Amount;
  log: Log;
  now?: () => number;
  afterStep?: (step: WriteStep) => void | Promise<void>;
  /** How often an unhealthy service retries reconciliation from disk. */
  recoveryIntervalMs?: number;
}

export interface ChangeOutcome {
  snapshot: Snapshot;
  /** The answer to an earlier request with the same Idempotency-Key. */
  replayed: boolean;
}

type ChangeJob = { kind: 'change'; request: ChangeRequest; resolve: (outcome: ChangeOutcome) => void; reject: (error: Error) => void };
type Job = ChangeJob | { kind: 'sync'; resolve: () => void };

type Outcome = { job: ChangeJob; result: ChangeOutcome; requestHash?: string } | { job: ChangeJob; error: HttpError };

interface Attempt {
  /** `raced`: another process changed a file under the save; nothing was kept, the batch may be tried again. */
  status: 'committed' | 'failed' | 'raced';
  before: Snapshot;
  snapshot: Snapshot;
  outcomes: Outcome[];
  tradingMoved: boolean;
}

const MAX_ATTEMPTS = 5;

const recovering = () => new StorageUnavailableError('the balance is being recovered from disk; try again');

export interface BalanceServiceEvents {
  /** The served balance or trading state changed. */
  change: [Snapshot];
}

export class BalanceService extends EventEmitter<BalanceServiceEvents> {
  private current: Snapshot | null = null;
  private healthy = false;
  /** Files must be re-read in full: a failed commit left what was read unapplied. */
  private stale = false;
  private stateVersion = 0;
  private queue: Job[] = [];
  private draining: Promise<void> | null = null;
  private recoveryTimer: NodeJS.Timeout | null = null;
  private readonly keys: IdempotencyMemory;
  private readonly now: () => number;

  constructor(private readonly options: BalanceServiceOptions) {
    super();
    this.now = options.now ?? Date.now;
    this.keys = new IdempotencyMemory(this.now);
  }

  /** Start-up: reconcile the files and the journal, heal what needs healing, remember recent keys. */
  async open(): Promise<void> {
    for (let tries = 1; ; tries++) {
      try {
        await this.reconcileFromDisk();
        break;
      } catch (error) {
        // A legacy writer wrote between our read and our write: read again.
        if (!(error instanceof FileChangedError) || tries >= MAX_ATTEMPTS) throw error;
      }
    }
    this.keys.restore(await this.options.journal.since(this.now() - IDEMPOTENCY_WINDOW_MS));
  }

  get ready(): boolean {
    return this.healthy;
  }

  /** The served balance; throws 503 while the disk does not hold a consistent one. */
  snapshot(): Snapshot {
    if (!this.healthy || !this.current) throw recovering();
    return this.current;
  }

  /** Changes with every change of the balance or the trading state. */
  get version(): number {
    return this.stateVersion;
  }

  /** The trading state as served: every field of the file, with the one balance. */
  tradingState(): Record<string, unknown> {
    const { balance } = this.snapshot();
    const state = this.options.stores.find((s) => s.role === 'trading');
    return { ...state?.fields(), balance };
  }

  submit(request: ChangeRequest): Promise<ChangeOutcome> {
    if (!this.healthy) return Promise.reject(recovering());
    return new Promise((resolve, reject) => this.enqueue({ kind: 'change', request, resolve, reject }));
  }

  /** Looks for edits other processes made to the files and adopts them. */
  sync(): Promise<void> {
    return new Promise((resolve) => this.enqueue({ kind: 'sync', resolve }));
  }

  /**
   * Like sync(), but first checks the files' fingerprints outside the commit path, so the service's
   * own writes (most watcher events) never hold up a queued change.
   */
  async syncIfChanged(): Promise<void> {
    if (!this.healthy) return; // recovery runs on its own timer
    if (this.stale) return this.sync();
    const changed = await Promise.all(this.options.stores.map((store) => store.hasChanged()));
    if (changed.some(Boolean)) await this.sync();
  }

  health() {
    const files = Object.fromEntries(
      this.options.stores.map((store) => {
        const seen = store.lastSeen();
        return [store.name, { balance: seen.balance, mtime: seen.mtimeMs === null ? null : new Date(seen.mtimeMs).toISOString() }];
      }),
    );
    const balance = this.current?.balance ?? null;
    const filesAgree = this.options.stores.every((store) => store.lastSeen().balance === balance);
    return { ready: this.healthy, files_agree: filesAgree, revision: this.current?.revision ?? null, balance, files };
  }

  /** Lets queued changes finish, then stops background work. */
  async close(): Promise<void> {
    if (this.recoveryTimer) clearInterval(this.recoveryTimer);
    this.recoveryTimer = null;
    while (this.draining) await this.draining;
  }

  private enqueue(job: Job): void {
    this.queue.push(job);
    this.draining ??= this.drain().finally(() => {
      this.draining = null;
    });
  }

  private async drain(): Promise<void> {
    while (this.queue.length > 0) {
      // Everything queued while the previous commit was on disk goes into this one (group commit).
      const batch = this.queue.splice(0);
      await this.commit(batch);
    }
  }

  private async commit(jobs: Job[]): Promise<void> {
    const changes = jobs.filter((job): job is ChangeJob => job.kind === 'change');
    const syncs = jobs.filter((job): job is Extract<Job, { kind: 'sync' }> => job.kind === 'sync');
    if (!this.healthy) {
      await this.recover();
      for (const job of changes) job.reject(recovering());
      for (const job of syncs) job.resolve();
      return;
    }

    let attempt = await this.attempt(changes);
    // Another process wrote a file while this batch was being saved: adopt its edit, then apply the batch on top.
    for (let tries = 1; attempt.status === 'raced' && tries < MAX_ATTEMPTS; tries++) attempt = await this.attempt(changes);

    const committed = attempt.status === 'committed';
    if (committed) this.current = attempt.snapshot;
    for (const outcome of attempt.outcomes) {
      if ('error' in outcome) {
        outcome.job.reject(outcome.error);
      } else if (!committed) {
        outcome.job.reject(new StorageUnavailableError());
      } else {
        const key = outcome.job.request.idempotency?.key;
        if (key && outcome.requestHash && !outcome.result.replayed) this.keys.remember(key, outcome.requestHash, outcome.result.snapshot);
        outcome.job.resolve(outcome.result);
      }
    }
    for (const job of syncs) job.resolve();
    if (!committed) return;

    if (attempt.snapshot !== attempt.before || attempt.tradingMoved) {
      this.stateVersion++;
      this.emit('change', attempt.snapshot);
    }
    await this.options.journal.compact().catch((error: unknown) => this.options.log.warn({ err: error }, 'journal rotation failed; will retry'));
  }

  /** One try at saving a batch: outside edits first, then each change in order, journal, then files. */
  private async attempt(changes: ChangeJob[]): Promise<Attempt> {
    const before = this.current as Snapshot;
    const entries: JournalEntry[] = [];
    const outcomes: Outcome[] = [];
    const written: BalanceStore[] = [];
    let snapshot = before;
    let tradingMoved = false;
    let undoJournal: (() => Promise<void>) | null = null;
    const result = (status: Attempt['status']): Attempt => ({ status, before, snapshot, outcomes, tradingMoved });
    try {
      const outside = await observeOutsideEdits({ ...this.options, now: this.now }, snapshot, this.stale);
      this.stale = false;
      snapshot = outside.snapshot;
      entries.push(...outside.entries);
      tradingMoved = outside.tradingMoved;

      const inBatch = new Map<string, { requestHash: string; snapshot: Snapshot }>();
      for (const job of changes) {
        const idempotency = job.request.idempotency;
        const earlier = idempotency && (inBatch.get(idempotency.key) ?? this.keys.find(idempotency.key));
        if (idempotency && earlier) {
          outcomes.push(
            earlier.requestHash === idempotency.requestHash
              ? { job, result: { snapshot: earlier.snapshot, replayed: true } }
              : { job, error: new IdempotencyConflictError() },
          );
          continue;
        }
        try {
          const change = applyChange(snapshot, job.request, { initialBalance: this.options.initialBalance, at: new Date(this.now()).toISOString() });
          snapshot = change.snapshot;
          entries.push(change.entry);
          outcomes.push({ job, result: { snapshot, replayed: false }, ...(idempotency && { requestHash: idempotency.requestHash }) });
          if (idempotency) inBatch.set(idempotency.key, { requestHash: idempotency.requestHash, snapshot });
        } catch (error) {
          if (!(error instanceof HttpError)) throw error;
          outcomes.push({ job, error });
        }
      }

      if (entries.length > 0) {
        undoJournal = await this.options.journal.append(entries);
        await this.options.afterStep?.('journal');
      }
      const changedByRequest = outcomes.some((o) => 'result' in o && !o.result.replayed);
      const record = toRecord(snapshot);
      for (const store of this.options.stores) {
        if (!changedByRequest && store.lastSeen().balance === snapshot.balance) continue;
        await store.write(record);
        written.push(store);
        await this.options.afterStep?.(store.name);
      }
      if (written.length > 0) await this.options.syncFolder();
      return result('committed');
    } catch (error) {
      const raced = error instanceof FileChangedError;
      await this.rollBack(before, written, undoJournal, error, raced);
      return result(raced ? 'raced' : 'failed');
    }
  }

  private async rollBack(before: Snapshot, written: BalanceStore[], undoJournal: (() => Promise<void>) | null, cause: unknown, raced: boolean): Promise<void> {
    this.stale = true;
    if (raced) this.options.log.info({ file: (cause as FileChangedError).file }, 'a file changed while it was being saved; retrying on top of the outside edit');
    else this.options.log.error({ err: cause, revision: before.revision }, 'a save failed; rolling back');
    try {
      for (const store of written.reverse()) await store.write(toRecord(before));
      if (written.length > 0) await this.options.syncFolder();
      await undoJournal?.();
    } catch (error) {
      // The disk holds something other than what we serve: stop serving until it is reconciled again.
      this.options.log.error({ err: error }, 'rollback failed; the service is unhealthy until the files can be reconciled');
      this.healthy = false;
      this.recoveryTimer ??= setInterval(() => void this.sync(), this.options.recoveryIntervalMs ?? 1000);
    }
  }

  private async recover(): Promise<void> {
    try {
      await this.reconcileFromDisk();
      if (this.recoveryTimer) clearInterval(this.recoveryTimer);
      this.recoveryTimer = null;
      this.options.log.info({ revision: this.current?.revision }, 'recovered: the files are consistent again');
    } catch (error) {
      this.options.log.warn({ err: error }, 'recovery failed; will retry');
    }
  }

  /** Settles the balance from what the files and the journal hold, and serves it. */
  private async reconcileFromDisk(): Promise<void> {
    const snapshot = await settleFromDisk({ ...this.options, now: this.now });
    this.current = snapshot;
    this.stale = false;
    this.healthy = true;
    this.stateVersion++;
    this.emit('change', snapshot);
  }
}
