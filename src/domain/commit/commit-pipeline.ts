// The commit path, end to end: changes and looks queued and taken to disk a batch at a time (group
// commit), each batch saved through the truth (files and local journal, or the shared truth), sent
// round again when another process raced it, every job answered, the keys it acknowledged remembered.
// What the balance is lives with whoever keeps the state (the balance service, through `Ledger`): the
// pipeline asks it where a batch starts and hands it what the batch led to.

import type { ChangeRequest, Snapshot } from '../change.ts';
import { recovering, StorageUnavailableError } from '../errors.ts';
import { IdempotencyMemory } from '../idempotency.ts';
import { LegacyWrites } from '../legacy-writes.ts';
import type { RememberedKey } from '../ports.ts';
import type { SettleDeps } from '../settle-from-disk.ts';
import type { SharedTruth } from '../shared-truth.ts';
import { GroupCommit } from './group-commit.ts';
import { saveBatch, type Saved } from './save-batch.ts';
import { saveShared } from './save-shared.ts';

export interface ChangeOutcome {
  snapshot: Snapshot;
  /** The answer to an earlier request with the same Idempotency-Key. */
  replayed: boolean;
}

/** `queuedAt` (performance.now()): a change's time to be answered (SPEC: a 503 within 5 s) runs from then. */
export type ChangeJob = { kind: 'change'; request: ChangeRequest; queuedAt: number; resolve: (outcome: ChangeOutcome) => void; reject: (error: Error) => void };
/** A look at the files (the watcher saw a change, or recovery is due): done once its batch is. */
export type SyncJob = { kind: 'sync'; resolve: () => void };
export type Job = ChangeJob | SyncJob;

/** What settling from disk needs, and the write path's hooks and the shared truth besides. */
export interface CommitDeps extends Omit<SettleDeps, 'faulty'> {
  afterStep?: (step: string) => void | Promise<void>;
  shared?: SharedTruth;
}

/** Where a batch starts from: what the service serves, and what the last batch left to do again. */
export interface BatchBase {
  current: Snapshot;
  /** A failed save left what was read unapplied: every file is read again in full. */
  rereadAll: boolean;
  /** Files whose last write failed: written again, so that a fault that is gone is seen to be gone. */
  retry: ReadonlySet<string>;
}

/** One try at saving the batch, as the metrics count it (a look that found nothing to write is not one). */
export interface Round {
  outcome: Saved<unknown>['status'];
  seconds: number;
  counted: boolean;
  quarantined: readonly string[];
}

export interface Batch {
  /** Where it started. */
  base: BatchBase;
  /** The last try: the one that counts. */
  saved: Saved<ChangeJob>;
  rounds: readonly Round[];
  changes: readonly ChangeJob[];
  syncs: readonly SyncJob[];
}

/** What the pipeline needs of whoever keeps the state: where a batch starts, and what to do with what it led to. */
export interface Ledger {
  /** Where the next batch starts; null while no consistent balance is served (the batch recovers instead). */
  base(): BatchBase | null;
  /** Reconciles from disk (or the shared truth) again; the batch that found it needed is refused (503). */
  recover(): Promise<void>;
  /**
   * A batch was saved, committed or not: what it committed is served from now on. Called before any
   * of its jobs is answered, in the same turn: no answer runs ahead of a GET.
   */
  saved(batch: Batch): void;
}

/**
 * Races in a row after which a batch puts its versions in place over the outside edit instead of
 * going round again: the edit is not lost (the version it landed in is held and merged right after,
 * booking rule and all), and a writer that rewrites a file without pause cannot starve the saves.
 */
const REDO_ROUNDS = 3;

export class CommitPipeline {
  /** Acknowledged Idempotency-Keys (the files alone: the shared truth remembers every host's). */
  private readonly keys = new IdempotencyMemory();
  /** What legacy writers last wrote into each file: the booking rule judges the next write by it. */
  private readonly legacy = LegacyWrites.empty();
  /** Jobs queued while a batch is on disk go to disk together, next: recovery too takes its turn here. */
  private readonly queue = new GroupCommit<Job>((jobs) => this.run(jobs));

  constructor(
    private readonly deps: CommitDeps,
    private readonly ledger: Ledger,
  ) {}

  /** A change, answered once it is durable (or refused). */
  submit(request: ChangeRequest): Promise<ChangeOutcome> {
    return new Promise((resolve, reject) => this.queue.enqueue({ kind: 'change', request, queuedAt: performance.now(), resolve, reject }));
  }

  /** A look at the files for edits of other processes, done once its batch is. */
  look(): Promise<void> {
    return new Promise((resolve) => this.queue.enqueue({ kind: 'sync', resolve }));
  }

  /** Resolves once every job queued so far, and every one queued meanwhile, is done. */
  idle(): Promise<void> {
    return this.queue.idle();
  }

  /** Start-up with the files alone: the keys the journal holds are answered again, not re-applied. */
  restoreKeys(remembered: Iterable<RememberedKey>): void {
    this.keys.restore(remembered);
  }

  /** One batch of the queue: every job queued while the previous batch was on disk. Never throws. */
  private async run(jobs: Job[]): Promise<void> {
    const base = this.ledger.base();
    if (!base) {
      await this.ledger.recover();
      return this.refuse(jobs, recovering());
    }
    const batch = await this.save(jobs, base);
    this.ledger.saved(batch);
    this.answer(batch);
    await this.compact(batch);
  }

  /** Saves the batch on top of `base`, as often as a race takes; every job still waits for its answer. */
  private async save(jobs: readonly Job[], base: BatchBase): Promise<Batch> {
    const changes = jobs.filter((job): job is ChangeJob => job.kind === 'change');
    const syncs = jobs.filter((job): job is SyncJob => job.kind === 'sync');
    const started = performance.now();
    const rounds: Round[] = [];
    const { shared } = this.deps;
    for (let round = 1; ; round++) {
      const legacy = this.legacy.draft();
      // A round after a race re-reads every file: what the raced round read was left unapplied.
      const how = { rereadAll: base.rereadAll || round > 1, look: syncs.length > 0, retry: base.retry, overwrite: round > REDO_ROUNDS };
      const saved = shared
        ? await saveShared({ ...this.deps, legacy, truth: shared }, base.current, changes, how)
        : await saveBatch({ ...this.deps, legacy }, base.current, changes, { ...how, remembered: (key) => this.keys.find(key) });
      if (saved.status === 'committed') legacy.keep();
      // A look that found nothing to write is not a save (most syncs are that).
      rounds.push({ outcome: saved.status, seconds: (performance.now() - started) / 1000, counted: saved.wrote || changes.length > 0, quarantined: saved.quarantined });
      // Another process wrote a file while this batch was being saved: adopt its edit, then apply the
      // batch on top — as often as it takes. Each round re-reads and adopts what it met, so a legacy
      // writer, however busy, costs a client time, never an error (503 is for faults of the disk).
      if (saved.status !== 'raced') return { base, saved, rounds, changes, syncs };
    }
  }

  /** Answers every job of a saved batch (the ledger serves what it committed) and remembers the keys it acknowledged. */
  private answer({ saved, changes, syncs }: Batch): void {
    const committed = saved.status === 'committed';
    // Why a change was not saved: the shared truth's own word (unreachable), else the disk's.
    const notSaved = () => (saved.failure instanceof StorageUnavailableError ? saved.failure : new StorageUnavailableError());
    for (const outcome of saved.outcomes) {
      if ('error' in outcome) outcome.job.reject(outcome.error);
      else if (!committed) outcome.job.reject(notSaved());
      else if (saved.unwritten !== undefined) outcome.job.reject(committedNotWritten(outcome.snapshot, saved.unwritten));
      else {
        const key = outcome.job.request.idempotency?.key;
        if (key && outcome.requestHash && !outcome.replayed) this.keys.remember(key, outcome.requestHash, outcome.snapshot);
        outcome.job.resolve({ snapshot: outcome.snapshot, replayed: outcome.replayed });
      }
    }
    // Failing before anything was decided (reading a file, say) answers every change all the same.
    const answered = new Set(saved.outcomes.map((outcome) => outcome.job));
    for (const job of changes) if (!answered.has(job)) job.reject(notSaved());
    for (const job of syncs) job.resolve();
  }

  /** A batch that cannot be saved now (the service is recovering): every change refused, every look done. */
  private refuse(jobs: readonly Job[], error: Error): void {
    for (const job of jobs) if (job.kind === 'change') job.reject(error);
    for (const job of jobs) if (job.kind === 'sync') job.resolve();
  }

  /** After a committed batch, with the files alone: bounds the journal's disk use (the shared truth bounds its own). */
  private async compact({ saved }: Batch): Promise<void> {
    if (saved.status !== 'committed' || this.deps.shared) return;
    await this.deps.journal.compact().catch((error: unknown) => this.deps.log.warn({ err: error }, 'journal rotation failed; will retry'));
  }
}

/** A change the shared truth holds (every host serves it) that this host's files could not take: not acknowledged, not to be sent again. */
const committedNotWritten = (snapshot: Snapshot, fault: unknown) =>
  new StorageUnavailableError(`the change was committed (revision ${snapshot.revision}) but this host's files could not be written (${messageOf(fault)}); do not send it again`);

const messageOf = (error: unknown): string => (error instanceof Error ? error.message : String(error));
