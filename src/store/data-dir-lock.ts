// One process per data folder: numbered lock files beside the data (never one of the watched names).
//
// Why two starters can no longer both win. The lock is a sequence of generations,
// `.balance-sync.lock.1`, `.2`, …; each is created whole (a temp file hard-linked to its name, which
// fails when the name exists) and never rewritten, and the highest one tells who holds the folder.
// Taking over a dead owner's generation n means creating n + 1 — never removing n — so of two
// starters who both saw n's owner dead, exactly one creates n + 1; the other gets EEXIST, looks
// again, and finds n + 1's owner alive. Nobody creates a generation above a live owner's: that needs
// having read the owner's record and judged it dead, and the record (pid, start time, boot) tells a
// live owner from any later process with its pid. The highest generation is never removed (a release
// is one more generation, marked released), so numbers never repeat; a starter that looked long ago
// and created a number below the highest finds out when it looks again after creating, and yields.

import { setTimeout as sleep } from 'node:timers/promises';
import { readLegacyLock } from './legacy-lock.ts';
import { createWhole, LOCK_PREFIX, newestGeneration, removeGeneration, removeOlder, type LockRecord } from './lock-generations.ts';
import { identify, isRunning, startedBefore, type ProcessIdentity } from './process-identity.ts';

export { LOCK_PREFIX, type LockRecord } from './lock-generations.ts';

/** Who holds a folder: `free` (never locked, or released), `held` by a running owner, or `abandoned` (its owner died). */
export interface Holder {
  state: 'free' | 'held' | 'abandoned';
  generation: number | null;
  owner: LockRecord | null;
  /** The lock directory an earlier version of balance-sync left, and whether its pid still runs. */
  legacy: { pid: number | null; running: boolean } | null;
}

export class DataDirInUseError extends Error {
  constructor(dir: string, owner: Pick<LockRecord, 'pid' | 'host'> | null, detail = '', message?: string) {
    const who = owner ? ` (pid ${owner.pid} on ${owner.host}${detail})` : detail;
    super(message ?? `the data folder ${dir} is in use by another balance-sync process${who}; stop it first or choose another DATA_DIR`);
    this.name = 'DataDirInUseError';
  }

  /** A lock file nobody can read the owner of (edited by hand, not a file): its owner may be running. */
  static unreadable(dir: string, generation: number): DataDirInUseError {
    const file = `${LOCK_PREFIX}${generation}`;
    return new DataDirInUseError(dir, null, '', `the data folder ${dir} has a lock file ${file} that balance-sync did not write, so whether its owner still runs cannot be told; if no balance-sync runs on this folder, remove ${file} and start again`);
  }
}

/** How often a holder looks that its lock is still the newest: taken by hand-made mischief, it stops within this. */
const WATCH_MS = 1_000;

/** A supervisor may restart the service while the killed one is still exiting: an owner that started well before us gets this long to go. */
const DYING_GRACE_MS = 1_000;
const CONCURRENT_START_MS = 2_000;
const MAX_LOOKS = 50;

/**
 * Takes the folder's lock, or throws DataDirInUseError; resolves to the release. `onEdited` is told
 * once if our lock file is edited by hand (we serve on); `onLost` if the lock stops being ours while
 * we hold it — only hands can do that (a lock file deleted, or another process started on the
 * folder): the holder must then stop, so that two never serve it for longer than a look.
 */
export async function lockDataDir(
  dir: string,
  onLost: (taker: LockRecord | null) => void = () => {},
  onEdited: (file: string) => void = () => {},
): Promise<() => Promise<void>> {
  const self = await identify();
  for (let look = 0; look < MAX_LOOKS; look++) {
    const newest = await newestGeneration(dir);
    if (newest.record?.state === 'held' && (await stillRunning(newest.record, self))) throw new DataDirInUseError(dir, newest.record);
    if (newest.unreadable === 'missing') continue; // removed as we looked: look again
    if (newest.unreadable === 'garbage' && newest.number !== null) throw DataDirInUseError.unreadable(dir, newest.number);
    const legacy = await readLegacyLock(dir, self);
    if (legacy?.running) throw new DataDirInUseError(dir, null, ` (pid ${legacy.pid}, an earlier version of balance-sync)`);

    const generation = (newest.number ?? 0) + 1;
    if (!(await createWhole(dir, generation, record(self, 'held')))) continue; // another starter made it first
    // Created — but a generation above ours means we looked too long ago: it is not ours to hold.
    if ((await newestGeneration(dir)).number !== generation) {
      await removeGeneration(dir, generation);
      continue;
    }
    await removeOlder(dir, generation);
    let lost = false;
    let edited = false;
    const watch = setInterval(() => {
      void newestGeneration(dir).then(
        (now) => {
          if (now.number === generation && now.record?.pid === self.pid && now.record.startTicks === self.startTicks) return;
          // Our lock file edited by hand into something we did not write: every starter refuses on it
          // (see DataDirInUseError.unreadable), so the folder is still ours alone — serve on, keep looking.
          if (now.number === generation && now.unreadable === 'garbage') {
            if (!edited) onEdited(LOCK_PREFIX + generation);
            edited = true;
            return;
          }
          clearInterval(watch);
          lost = true;
          onLost(now.record);
        },
        () => {}, // a look that fails is tried again at the next
      );
    }, WATCH_MS);
    watch.unref();
    return async () => {
      clearInterval(watch);
      // A lock that is someone else's now is not ours to mark released.
      if (lost) return;
      await createWhole(dir, generation + 1, record(self, 'released'));
      await removeGeneration(dir, generation);
    };
  }
  throw new DataDirInUseError(dir, null, ': other processes kept taking its lock');
}

/** Who holds the folder, alive or not; reads and changes nothing. */
export async function whoHolds(dir: string): Promise<Holder> {
  const self = await identify();
  const [newest, legacy] = await Promise.all([newestGeneration(dir), readLegacyLock(dir, self)]);
  const owner = newest.record;
  const state = !owner || owner.state === 'released' ? 'free' : (await isRunning(owner, self)) ? 'held' : 'abandoned';
  return { state, generation: newest.number, owner, legacy };
}

/** Whether a running owner is to be believed: one that started well before us may be a killed process still exiting. */
async function stillRunning(owner: LockRecord, self: ProcessIdentity): Promise<boolean> {
  const before = startedBefore(owner, self);
  const grace = before !== null && before < CONCURRENT_START_MS ? 0 : DYING_GRACE_MS;
  for (const deadline = Date.now() + grace; await isRunning(owner, self); await sleep(50)) {
    if (Date.now() >= deadline) return true;
  }
  return false;
}

const record = (self: ProcessIdentity, state: LockRecord['state']): LockRecord => ({ ...self, state, at: new Date().toISOString() });

