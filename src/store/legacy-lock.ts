// The lock directory balance-sync used before numbered lock files: read, judged, removed once dead.

import { readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { processStat, type ProcessIdentity } from './process-identity.ts';

/** proper-lockfile's directory, with the owner's pid in a file inside. */
export const LEGACY_LOCK_NAME = '.balance-sync.lock';

/**
 * Whether an earlier version still runs on this folder. It recorded only a pid, so the pid's process
 * counts as the owner only if it started before the pid was written: a process that got the pid
 * later (pid 1 in the next container, or we ourselves) cannot be it.
 */
export async function readLegacyLock(dir: string, self: ProcessIdentity): Promise<{ pid: number | null; running: boolean } | null> {
  const path = join(dir, LEGACY_LOCK_NAME);
  const info = await stat(path).catch(() => null);
  if (!info) return null;
  const ownerFile = join(path, 'pid');
  const [text, written] = await Promise.all([readFile(ownerFile, 'utf8').catch(() => ''), stat(ownerFile).catch(() => null)]);
  const pid = Number(text) || null;
  if (pid === null || pid === self.pid) return { pid, running: false };
  const owner = await processStat(pid);
  if (owner === null) return { pid, running: self.startTicks === null && exists(pid) };
  const bootWallMs = await bootTimeMs();
  const startedMs = bootWallMs === null ? null : bootWallMs + owner.startTicks * 10;
  const startedAfterRecord = startedMs !== null && written !== null && startedMs > written.mtimeMs + 1_000;
  return { pid, running: !/^[ZXx]/.test(owner.state) && !startedAfterRecord };
}

function exists(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** The wall time of this boot (/proc/stat `btime`), to place a process's start in wall time. */
async function bootTimeMs(): Promise<number | null> {
  const text = await readFile('/proc/stat', 'utf8').catch(() => '');
  const seconds = Number(/^btime (\d+)$/m.exec(text)?.[1]);
  return Number.isFinite(seconds) && seconds > 0 ? seconds * 1000 : null;
}
