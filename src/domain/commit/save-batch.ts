// One try at saving a batch: adopt what other processes wrote, decide what the queued requests do,
// and write it through. Nothing here holds state; the commit pipeline (commit-pipeline.ts) keeps what it returns.

import type { Amount } from '../amount.ts';
import { toRecord, type ChangeRequest, type Snapshot } from '../change.ts';
import type { LegacyWrites } from '../legacy-writes.ts';
import { observeOutsideEdits, outsideReport, type OutsideEdits } from '../outside-edits.ts';
import type { BalanceStore, JournalPort, Log } from '../ports.ts';
import { planBatch, type Outcome, type Remembered } from './plan.ts';
import { isRace, RollbackFailedError, writeThrough, type WriteDeps } from './write-through.ts';

export interface SaveDeps extends WriteDeps {
  /** In write order: the balance file first, then the trading state. */
  stores: readonly BalanceStore[];
  journal: JournalPort;
  initialBalance: Amount;
  legacy: LegacyWrites;
  log: Log;
  now: () => number;
}

export interface Saved<Job> {
  /**
   * `raced`: another process wrote a file during the save; nothing was kept, the batch may be tried
   * again. `inconsistent`: a step failed and so did putting the disk back.
   */
  status: 'committed' | 'failed' | 'raced' | 'inconsistent';
  before: Snapshot;
  /** The balance after the batch (committed) or as it would have been. */
  snapshot: Snapshot;
  outcomes: Outcome<Job>[];
  /** The trading state changed on disk (its other fields may have moved). */
  tradingMoved: boolean;
  /** Files whose outside balance was adopted, and files whose stale write-back was refused. */
  adopted: string[];
  staleRefused: string[];
  /** Corrupt files moved aside: that happened, whatever became of the save. */
  quarantined: string[];
  /** Something was to be written: a change, an adopted balance, a file to heal. */
  wrote: boolean;
  /** Why it failed (`failed`, `inconsistent`): the caller logs it, once per fault. */
  failure?: unknown;
  /**
   * Committed to a shared truth, but this host's files could not be written (a fault of its disk): the
   * change holds — every host serves it — yet it is not acknowledged here, and must not be sent again.
   */
  unwritten?: unknown;
  /**
   * Committed, but an outside edit met after COMMIT was read and left unapplied (its follow-up did
   * not commit): the next batch reads every file again, or the edit would never be judged.
   */
  rereadNext?: boolean;
}

const nothingOutside = (snapshot: Snapshot): OutsideEdits => ({ snapshot, entries: [], tradingMoved: false, staleRefused: [], quarantined: [] });

export async function saveBatch<Job extends { request: ChangeRequest }>(
  deps: SaveDeps,
  before: Snapshot,
  jobs: readonly Job[],
  options: {
    rereadAll: boolean;
    /** Someone asked for a look at the files (the watcher saw a change): the batch looks before it plans. */
    look: boolean;
    /** Files whose last write failed: written again, so that a fault that is gone is seen to be gone. */
    retry: ReadonlySet<string>;
    /** Put the new versions in place even over an outside edit met at the last look (see PreparedWrite). */
    overwrite?: boolean;
    remembered: (key: string) => Remembered | undefined;
  },
): Promise<Saved<Job>> {
  let saved: Saved<Job> = { status: 'failed', before, snapshot: before, outcomes: [], tradingMoved: false, adopted: [], staleRefused: [], quarantined: [], wrote: false };
  try {
    // A batch of changes skips the look at the files: each file gets a last look before its rename
    // anyway, and an outside edit found there sends the batch round again on top of it (`raced`).
    // That look costs every save a round trip; an outside edit costs a retry, rarely.
    const looks = options.rereadAll || options.look || jobs.length === 0;
    const outside = looks ? await observeOutsideEdits(deps, before, options.rereadAll) : nothingOutside(before);
    const plan = planBatch(outside.snapshot, jobs, { initialBalance: deps.initialBalance, at: new Date(deps.now()).toISOString(), remembered: options.remembered });
    saved = {
      ...saved,
      snapshot: plan.snapshot,
      outcomes: plan.outcomes,
      ...outsideReport(outside),
    };
    const requested = plan.entries.length > 0;
    // A request rewrites both files; otherwise only a file that no longer holds the balance (adopted from the other, healed, deleted).
    const stores = deps.stores.filter((store) => requested || store.lastSeen().balance !== plan.snapshot.balance || options.retry.has(store.name));
    saved.wrote = stores.length > 0 || outside.entries.length > 0;
    await writeThrough(deps, { entries: [...outside.entries, ...plan.entries], stores, record: toRecord(plan.snapshot), before: toRecord(before), overwrite: options.overwrite ?? false });
    return { ...saved, status: 'committed' };
  } catch (error) {
    if (isRace(error)) {
      deps.log.debug({ file: error.file }, 'a file changed while it was being saved; saving again on top of the outside edit');
      return { ...saved, status: 'raced' };
    }
    return { ...saved, status: error instanceof RollbackFailedError ? 'inconsistent' : 'failed', failure: error };
  }
}
