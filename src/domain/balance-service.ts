// The one truth about the balance: settled from disk at start-up, changed only through the commit
// pipeline (src/domain/commit), and served from memory. It reads as what balance-sync does.

import { EventEmitter } from 'node:events';
import type { Amount } from './amount.ts';
import type { ChangeRequest, Snapshot } from './change.ts';
import { CommitPipeline, type Batch, type BatchBase, type ChangeOutcome } from './commit/commit-pipeline.ts';
import type { Saved } from './commit/save-batch.ts';
import { RollbackFailedError } from './commit/write-through.ts';
import { recovering, StorageUnavailableError } from './errors.ts';
import { FileChangedError, FileFaultError, type BalanceStore, type JournalEntry, type JournalHealth, type JournalPort, type Log } from './ports.ts';
import { settleFromDisk } from './settle-from-disk.ts';
import { settleShared } from './settle-shared.ts';
import type { HostSeen, SharedStatus, SharedTruth } from './shared-truth.ts';

/** A point in the write path where a test may crash the process: `journal`, or a file's name. */
export type WriteStep = string;

export interface BalanceServiceOptions {
  /** In write order: the balance file first, then the trading state. */
  stores: readonly BalanceStore[];
  journal: JournalPort;
  /** Makes every rename in the files' folder durable: one call after both files are written. */
  syncFolder: () => Promise<void>;
  initialBalance: Amount;
  log: Log;
  now?: () => number;
  afterStep?: (step: WriteStep) => void | Promise<void>;
  /** How often an unhealthy service retries reconciliation from disk. */
  recoveryIntervalMs?: number;
  /**
   * A truth several hosts share (DATABASE_URL): changes are decided and committed there, the files
   * follow it; without it the truth is the files and the local journal.
   */
  shared?: SharedTruth;
  /** Every entry of the local journal, oldest first: what the first host brings into the shared truth. */
  localHistory?: () => Promise<JournalEntry[]>;
  /** How often this host says which revision its files hold (shared truth only). */
  heartbeatMs?: number;
}

export type { ChangeOutcome } from './commit/commit-pipeline.ts';

/** What happened, for whoever keeps count (metrics): the domain knows nothing of how it is counted. */
export interface BalanceServiceEvents {
  /** The served balance or trading state changed. */
  change: [Snapshot];
  /** A batch of changes or adoptions reached the disk, or failed to: `raced` batches are tried again. */
  saved: [{ outcome: Saved<unknown>['status']; seconds: number }];
  /** An outside edit of a file's balance was adopted. */
  adopted: [{ file: string }];
  /** A legacy process wrote back a stale copy; its balance was refused. */
  staleRefused: [{ file: string }];
  /** A corrupt file was moved aside. */
  quarantined: [{ file: string }];
  /** The service became ready, or stopped being ready (a file that cannot be written counts). */
  readiness: [boolean];
  /** The journal stopped or started being whole, or was re-created. */
  journal: [JournalHealth];
  /** The account's hosts, as the last heartbeat read them (shared truth only). */
  fleet: [readonly HostSeen[]];
}

const RETRY_AFTER_FAILURE_MS = 1_000;

export class BalanceService extends EventEmitter<BalanceServiceEvents> {
  private current: Snapshot | null = null;
  private healthy = false;
  /** Files must be re-read in full: a failed commit left what was read unapplied. */
  private stale = false;
  private stateVersion = 0;
  private recoveryTimer: NodeJS.Timeout | null = null;
  private closed = false;
  private retryAfterMs = 0;
  /** Files whose last write failed, with why: /health and the metrics say so until one succeeds. */
  private readonly faults = new Map<string, string>();
  /** The failure last logged: the same one again (a retry a second) is not logged again. */
  private lastFailure: string | null = null;
  private readonly now: () => number;
  /** Group commit, saves, retries, answers and Idempotency-Keys: it asks where a batch starts, and hands back what it led to. */
  private readonly pipeline: CommitPipeline;
  /** The account's hosts seen in the last minute (shared truth), as the last heartbeat read them. */
  private fleet: HostSeen[] = [];
  private readonly stopShared: (() => void)[] = [];

  constructor(private readonly options: BalanceServiceOptions) {
    super();
    this.now = options.now ?? Date.now;
    this.pipeline = new CommitPipeline(
      { ...options, now: this.now },
      {
        base: () => this.batchBase(),
        recover: () => this.recover(),
        saved: (batch) => this.take(batch),
      },
    );
    options.journal.onHealthChange((health) => {
      this.emit('journal', health);
      this.emit('readiness', this.health().ready);
    });
  }

  /** What holds the truth: `/health` and the metrics say which, and whether it answers. */
  store(): SharedStatus | { kind: 'files' } {
    return this.options.shared?.status() ?? { kind: 'files' };
  }

  /** This host's name in the shared truth (HOST_ID), or null with the files alone. */
  get hostId(): string | null {
    return this.options.shared?.hostId ?? null;
  }

  /** The account's hosts, each with the revision its files hold and how far behind it is (shared truth only). */
  hosts(): readonly HostSeen[] {
    return this.fleet;
  }

  /** Start-up: reconcile the files and the journal, heal what needs healing, remember recent keys. */
  async open(): Promise<void> {
    let judgeFiles = false;
    for (;;) {
      try {
        judgeFiles = await this.reconcileFromDisk();
        break;
      } catch (error) {
        // A legacy writer wrote between our read and our write: read again, as often as it takes.
        if (!(error instanceof FileChangedError)) throw error;
      }
    }
    const { shared } = this.options;
    if (!shared) return this.pipeline.restoreKeys(this.options.journal.keysInWindow());
    // Committed before the service answers anything: its first GET already counts them.
    if (judgeFiles) await this.sync();
    // Every host's commits reach this one: a notification (or a reconnection) sends the files after them.
    this.stopShared.push(shared.follow((revision) => revision > (this.current?.revision ?? -1) && void this.sync()));
    this.stopShared.push(shared.onReachability(() => this.emit('readiness', this.ready)));
    const beat = () =>
      void shared
        .heartbeat(this.current?.revision ?? 0)
        .then(() => shared.hosts())
        .then((hosts) => {
          this.fleet = hosts;
          this.emit('fleet', hosts);
        }, () => {});
    const timer = setInterval(beat, this.options.heartbeatMs ?? 3_000);
    timer.unref();
    beat();
    this.stopShared.push(() => clearInterval(timer));
  }

  /** Serving a balance the disk holds, and able to write both files. */
  get ready(): boolean {
    // A shared truth that does not answer: changes are refused (503) though reads are served.
    return this.healthy && this.faults.size === 0 && (this.options.shared?.status().reachable ?? true);
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

  /** A change of the balance, durable in the journal and both files before it resolves. */
  submit(request: ChangeRequest): Promise<ChangeOutcome> {
    if (this.closed) return Promise.reject(new StorageUnavailableError('the service is shutting down; try again'));
    if (!this.healthy) return Promise.reject(recovering());
    return this.pipeline.submit(request);
  }

  /** Looks for edits other processes made to the files and adopts them. */
  sync(): Promise<void> {
    // Once closed, the journal and the folder lock are about to go: the next start reconciles instead.
    if (this.closed) return Promise.resolve();
    return this.pipeline.look();
  }

  /**
   * Like sync(), but first checks the files' fingerprints outside the commit path, so the service's
   * own writes (most watcher events) never hold up a queued change.
   */
  async syncIfChanged(): Promise<void> {
    if (!this.healthy) return; // recovery runs on its own timer
    if (this.stale) return this.now() >= this.retryAfterMs ? this.sync() : undefined;
    if (await this.changedOnDisk()) await this.sync();
  }

  /** A file, or a version a save replaced, changed since it was last read or written (a stat each). */
  private async changedOnDisk(): Promise<boolean> {
    return (await Promise.all(this.options.stores.map((store) => store.hasChanged()))).some(Boolean);
  }

  health() {
    const files = Object.fromEntries(
      this.options.stores.map((store) => {
        const seen = store.lastSeen();
        return [store.name, { balance: seen.balance, mtime: seen.mtimeMs === null ? null : new Date(seen.mtimeMs).toISOString() }];
      }),
    );
    const balance = this.current?.balance ?? null;
    // A file that cannot be written may hold anything by the next look: it does not agree.
    const [fault] = this.faults;
    const filesAgree = !fault && this.options.stores.every((store) => store.lastSeen().balance === balance);
    // A journal that is not whole could lose an acknowledged key: not ready, though reads are served.
    const journal = this.options.journal.health();
    return {
      // (With a shared truth the local journal is only what the first host brought in.)
      ready: this.ready && (this.options.shared !== undefined || journal.ok),
      files_agree: filesAgree,
      revision: this.current?.revision ?? null,
      balance,
      files,
      ...(fault && { failing: { file: fault[0], error: fault[1] } }),
      journal,
      store: this.store(),
      ...(this.options.shared && { hosts: this.fleet }),
    };
  }

  /** Lets queued changes finish, then stops background work; later changes are refused (503). */
  async close(): Promise<void> {
    this.closed = true;
    if (this.recoveryTimer) clearInterval(this.recoveryTimer);
    this.recoveryTimer = null;
    for (const stop of this.stopShared.splice(0)) stop();
    await this.pipeline.idle();
    // A legacy write that landed in a version a last save replaced is only in that version, which only
    // this process holds: one last look merges it before the process lets go (the next start could not).
    if (this.healthy && (await this.changedOnDisk().catch(() => false))) await this.pipeline.look();
    for (const store of this.options.stores) store.close?.();
  }

  /** Where the next batch starts: null while no consistent balance is served (it recovers instead). */
  private batchBase(): BatchBase | null {
    if (!this.healthy || !this.current) return null;
    return { current: this.current, rereadAll: this.stale, retry: new Set(this.faults.keys()) };
  }

  /** What a saved batch led to, before any of its jobs is answered: state, faults and events. */
  private take(batch: Batch): void {
    const { saved } = batch;
    for (const round of batch.rounds) {
      if (round.counted) this.emit('saved', { outcome: round.outcome, seconds: round.seconds });
      for (const file of round.quarantined) this.emit('quarantined', { file });
    }
    this.stale = saved.status !== 'committed' || saved.rereadNext === true;
    this.noteFaults(saved, batch.base.retry);
    if (saved.status === 'inconsistent') this.becomeUnhealthy();
    // A fault (a file it may not read, say) is not retried on every poll: once a second is enough.
    if (saved.status !== 'committed') this.retryAfterMs = this.now() + RETRY_AFTER_FAILURE_MS;
    if (saved.status === 'committed') this.serve(batch);
  }

  /** What a committed batch leads to is what is served from now on. */
  private serve({ saved }: Batch): void {
    this.current = saved.snapshot;
    for (const file of saved.adopted) this.emit('adopted', { file });
    for (const file of saved.staleRefused) this.emit('staleRefused', { file });
    if (saved.snapshot !== saved.before || saved.tradingMoved) {
      this.stateVersion++;
      this.emit('change', saved.snapshot);
    }
  }

  /**
   * Which files cannot be written, logged once per fault rather than at every retry; a file whose
   * write was retried and succeeded is healthy again, said once too.
   */
  private noteFaults(saved: Saved<unknown>, retried: ReadonlySet<string>): void {
    const wasReady = this.ready;
    if (saved.status === 'committed' && saved.unwritten === undefined) {
      for (const file of retried) {
        this.faults.delete(file);
        this.options.log.info({ file }, 'the file can be written again');
      }
      if (this.lastFailure !== null && this.faults.size === 0) this.options.log.info({ revision: saved.snapshot.revision }, 'saves work again');
      if (this.faults.size === 0) this.lastFailure = null;
    } else if ((saved.failure ?? saved.unwritten) !== undefined) {
      const failure = saved.failure instanceof RollbackFailedError ? saved.failure.failure : (saved.failure ?? saved.unwritten);
      if (failure instanceof FileFaultError) this.faults.set(failure.file, messageOf(failure.fault));
      const key = failure instanceof FileFaultError ? `${failure.file}: ${codeOf(failure.fault)}` : messageOf(failure);
      if (key !== this.lastFailure) {
        this.options.log.error({ err: failure, revision: saved.before.revision }, 'a save failed; rolled back, and tried again every second');
        if (saved.failure instanceof RollbackFailedError) this.options.log.error({ err: saved.failure.rollbackFailure }, 'rollback failed; the service is unhealthy until the files can be reconciled');
      }
      this.lastFailure = key;
    }
    if (this.ready !== wasReady) this.emit('readiness', this.ready);
  }

  /** The disk holds something other than what we serve: stop serving until it is reconciled again. */
  private becomeUnhealthy(): void {
    this.healthy = false;
    this.emit('readiness', false);
    this.recoveryTimer ??= setInterval(() => void this.sync(), this.options.recoveryIntervalMs ?? 1000);
  }

  private async recover(): Promise<void> {
    try {
      // (Legacy writes a restart found are judged by the next batch: this one is still running.)
      if (await this.reconcileFromDisk()) void this.sync();
      if (this.recoveryTimer) clearInterval(this.recoveryTimer);
      this.recoveryTimer = null;
      this.options.log.info({ revision: this.current?.revision }, 'recovered: the files are consistent again');
    } catch (error) {
      const key = `recovery: ${messageOf(error)}`;
      if (key !== this.lastFailure) this.options.log.warn({ err: error }, 'recovery failed; will retry every second');
      this.lastFailure = key;
    }
  }

  /** Settles the balance from what the files and the journal hold, and serves it. */
  private async reconcileFromDisk(): Promise<boolean> {
    const rewrite = new Set(this.faults.keys());
    const { shared, localHistory } = this.options;
    const settle = { ...this.options, now: this.now, faulty: rewrite };
    const { snapshot, quarantined, staleRefused, judgeFiles } = shared
      ? await settleShared({ ...settle, truth: shared, localHistory: localHistory ?? (async () => []) })
      : { ...(await settleFromDisk(settle)), judgeFiles: undefined };
    for (const file of rewrite) {
      this.faults.delete(file);
      this.options.log.info({ file }, 'the file can be written again');
    }
    for (const file of quarantined) this.emit('quarantined', { file });
    for (const file of staleRefused) this.emit('staleRefused', { file });
    this.current = snapshot;
    // Legacy writes found in a restarting host's files: the next batch reads every file and judges them.
    this.stale = judgeFiles === true;
    this.healthy = true;
    this.lastFailure = null;
    this.stateVersion++;
    this.emit('readiness', this.ready);
    this.emit('change', snapshot);
    return judgeFiles === true;
  }
}

const messageOf = (error: unknown): string => (error instanceof Error ? error.message : String(error));
const codeOf = (error: unknown): string => (error as NodeJS.ErrnoException)?.code ?? messageOf(error);
