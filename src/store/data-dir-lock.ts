// One process per data folder: a lock beside the files (never one of the watched names).

import { readFile, readdir, rm, stat, unlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import lockfile from 'proper-lockfile';
import { isTempFileOf } from './durable-write.ts';

export const LOCK_NAME = '.balance-sync.lock';

export class DataDirInUseError extends Error {
  constructor(dir: string, pid: number | null) {
    super(`the data folder ${dir} is in use by another balance-sync process${pid ? ` (pid ${pid})` : ''}; stop it first or choose another DATA_DIR`);
    this.name = 'DataDirInUseError';
  }
}

/** Whether `pid` is a running process. A zombie (killed, never reaped: common in containers without an init) is not. */
async function isAlive(pid: number): Promise<boolean> {
  try {
    process.kill(pid, 0);
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
  const status = await readFile(`/proc/${pid}/status`, 'utf8').catch(() => '');
  return !/^State:\s+Z/m.test(status);
}

/** A supervisor may restart the service while the killed one is still exiting: give it this long. */
const DYING_GRACE_MS = 1_000;

async function stillAliveAfter(pid: number, graceMs: number): Promise<boolean> {
  for (const deadline = Date.now() + graceMs; await isAlive(pid); ) {
    if (Date.now() >= deadline) return true;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return false;
}

/**
 * proper-lockfile's own staleness (refreshing the lock's mtime) is switched off: a wall-clock jump
 * made it report the lock compromised and stop refreshing it, after which a second process could take
 * it over. Whether the owner is alive is asked of the owner itself, by pid.
 */
const NEVER_STALE_MS = 7 * 24 * 60 * 60 * 1000;
/** An owner that died between creating the lock and recording its pid leaves a lock this old, pid-less. */
const ORPHAN_AFTER_MS = 5_000;

/** Takes the folder's lock; a lock left by a process that no longer exists is taken over at once. */
export async function lockDataDir(dir: string, onCompromised: (error: Error) => void): Promise<() => Promise<void>> {
  const lockfilePath = join(dir, LOCK_NAME);
  const ownerFile = join(lockfilePath, 'pid');
  const acquire = async () => {
    const release = await lockfile.lock(dir, { lockfilePath, realpath: false, stale: NEVER_STALE_MS, onCompromised });
    await writeFile(ownerFile, String(process.pid));
    return async () => {
      await unlink(ownerFile).catch(() => {});
      await release();
    };
  };
  const isLocked = (error: unknown) => (error as NodeJS.ErrnoException).code === 'ELOCKED';

  try {
    return await acquire();
  } catch (error) {
    if (!isLocked(error)) throw error;
  }
  const owner = Number(await readFile(ownerFile, 'utf8').catch(() => '')) || null;
  if (owner !== null && (await stillAliveAfter(owner, DYING_GRACE_MS))) throw new DataDirInUseError(dir, owner);
  const age = Date.now() - ((await stat(lockfilePath).catch(() => null))?.mtimeMs ?? 0);
  if (owner !== null || age > ORPHAN_AFTER_MS) {
    // The owner died without releasing (kill -9): its lock is ours.
    await rm(lockfilePath, { recursive: true, force: true });
  } else {
    // No owner recorded yet: it may be starting up this very moment. Ask once more.
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
  try {
    return await acquire();
  } catch (error) {
    throw isLocked(error) ? new DataDirInUseError(dir, owner) : error;
  }
}

/** Removes temp files that an interrupted write (kill -9) left beside `names`. */
export async function removeOrphanedTempFiles(dir: string, names: readonly string[]): Promise<string[]> {
  const orphans = (await readdir(dir)).filter((entry) => names.some((name) => isTempFileOf(name, entry)));
  await Promise.all(orphans.map((entry) => unlink(join(dir, entry)).catch(() => {})));
  return orphans;
}
