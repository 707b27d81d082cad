// Writing a decided change to disk: journal first in effect, both files after it, all durable before
// anyone is answered — and, when any step fails, the disk put back as it was.

import { asFileFault, FileChangedError, FileFaultError, type BalanceRecord, type BalanceStore, type JournalEntry, type JournalPort, type PreparedWrite } from '../ports.ts';

export interface WriteDeps {
  journal: Pick<JournalPort, 'append'>;
  /** Makes every rename in the files' folder durable: one call after both renames. */
  syncFolder: () => Promise<void>;
  /** A test hook after each step: `journal`, then each file's name once it is in place. */
  afterStep?: (step: string) => void | Promise<void>;
}

/** A step failed and putting the disk back failed too: it now holds something other than what is served. */
export class RollbackFailedError extends Error {
  constructor(
    readonly failure: unknown,
    readonly rollbackFailure: unknown,
  ) {
    super('a save failed and could not be rolled back');
    this.name = 'RollbackFailedError';
  }
}

export const isRace = (error: unknown): error is FileChangedError => error instanceof FileChangedError;

/**
 * The journal append and the files' new versions are written and fsynced at the same time; the
 * renames wait for the journal (write-ahead: a crash at any point after it rolls the change forward
 * at start-up), then run together, each after a last look at its file, and one folder fsync makes
 * them durable. Throws what failed once the disk is back as it was (FileChangedError: another process
 * wrote a file meanwhile), or RollbackFailedError.
 */
export async function writeThrough(
  deps: WriteDeps,
  change: { entries: readonly JournalEntry[]; stores: readonly BalanceStore[]; record: BalanceRecord; before: BalanceRecord; overwrite?: boolean },
): Promise<void> {
  const { entries, stores, record, before } = change;
  const [journal, ...staging] = await Promise.allSettled([
    entries.length > 0 ? deps.journal.append(entries) : Promise.resolve(null),
    ...stores.map((store) => store.prepare(record).catch(asFileFault(store.name))),
  ]);
  const undoJournal = journal.status === 'fulfilled' ? journal.value : null;
  const staged = staging.flatMap((result, i) => (result.status === 'fulfilled' ? [{ store: stores[i] as BalanceStore, write: result.value }] : []));
  const placed: PreparedWrite[] = [];
  try {
    firstFailure([journal, ...staging]);
    if (entries.length > 0) await deps.afterStep?.('journal');
    // Every file's last look before any rename: an outside edit found here sends the batch round
    // again before anything is in place, so a race never needs a rollback (which another legacy write
    // could race in turn). One landing after the look is kept by the rename itself (balance-file.ts).
    firstFailure(await Promise.allSettled(staged.map(({ store, write }) => write.lastLook({ overwrite: change.overwrite }).catch(asFileFault(store.name)))));
    const renames = await Promise.allSettled(
      staged.map(async ({ store, write }) => {
        await write.commit().catch(asFileFault(store.name));
        placed.push(write);
        await deps.afterStep?.(store.name);
      }),
    );
    firstFailure(renames);
    if (placed.length > 0) await deps.syncFolder();
  } catch (error) {
    await Promise.all(staged.map(({ write }) => write.discard()));
    try {
      if (placed.length > 0) {
        await Promise.all(placed.map((write) => write.revert(before)));
        await deps.syncFolder();
      }
      await undoJournal?.();
    } catch (rollbackFailure) {
      throw new RollbackFailedError(error, rollbackFailure);
    }
    throw error;
  }
}

/** Writes `record` into each store at once (start-up); not yet durable until the folder is synced. */
export async function rewrite(stores: readonly BalanceStore[], record: BalanceRecord): Promise<void> {
  const staging = await Promise.allSettled(stores.map((store) => store.prepare(record).catch(asFileFault(store.name))));
  const staged = staging.flatMap((result, i) => (result.status === 'fulfilled' ? [{ store: stores[i] as BalanceStore, write: result.value }] : []));
  try {
    firstFailure(staging);
    firstFailure(await Promise.allSettled(staged.map(({ store, write }) => write.commit().catch(asFileFault(store.name)))));
  } catch (error) {
    await Promise.all(staged.map(({ write }) => write.discard()));
    throw error;
  }
}

/**
 * Throws the first failure among settled steps; a fault outranks a race, since another try would meet
 * it again, and a file's fault comes first, so that /health can name the file (a full disk fails the
 * journal and the files alike).
 */
export function firstFailure(results: readonly PromiseSettledResult<unknown>[]): void {
  const failures = results.flatMap((result) => (result.status === 'rejected' ? [result.reason as unknown] : []));
  if (failures.length > 0) throw failures.find((failure) => failure instanceof FileFaultError) ?? failures.find((failure) => !isRace(failure)) ?? failures[0];
}
