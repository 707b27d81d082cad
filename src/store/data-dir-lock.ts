// One process per data folder: a lock beside the files (never one of the watched names).

import { readFile, readdir, rm, unlink, writeFile } from 'node:fs/promises';
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

const isAlive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
};

/** Takes the folder's lock; a lock left by a process that no longer exists is taken over at once. */
export async function lockDataDir(dir: string, onCompromised: (error: Error) => void): Promise<() => Promise<void>> {
  const lockfilePath = join(dir, LOCK_NAME);
  const ownerFile = join(lockfilePath, 'pid');
  const acquire = async () => {
    const release = await lockfile.lock(dir, { lockfilePath, realpath: false, stale: 10_000, update: 2_000, onCompromised });
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
  if (owner !== null && isAlive(owner)) throw new DataDirInUseError(dir, owner);
  // The owner died without releasing (kill -9): its lock is ours. No owner yet: it may be starting, ask once more.
  if (owner !== null) await rm(lockfilePath, { recursive: true, force: true });
  else await new Promise((resolve) => setTimeout(resolve, 500));
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
