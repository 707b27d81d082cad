// The one way a balance file reaches the disk: a temp file beside it, written and fsynced, then
// renamed over it — in two steps, so that the writing can overlap the journal's fsync while the
// rename still waits for it. A folder fsync (one for every rename before it) makes renames durable.

import { randomInt } from 'node:crypto';
import { statSync } from 'node:fs';
import { open, rename, unlink, type FileHandle } from 'node:fs/promises';
import { renameOver } from './rename-exchange.ts';
import { fingerprintNow, toFingerprint, type Fingerprint } from './text-file.ts';

/** Leftover temp files of an interrupted write are named `<file>.<digits>`. */
export const isTempFileOf = (fileName: string, candidate: string): boolean =>
  candidate.startsWith(`${fileName}.`) && /^\d+$/.test(candidate.slice(fileName.length + 1));

/** The permissions and owner the file has now, which its next version keeps. */
export interface Ownership {
  mode: number;
  uid: number;
  gid: number;
}

export interface StagedFile {
  /** The new version's fingerprint, the same once it is in place. */
  readonly fingerprint: Fingerprint;
  /** Makes the new version durable, if staging left that for later; commit() does it first anyway. */
  fsync(): Promise<void>;
  /** Gives the new version this owner and mode instead (the file's changed since it was staged). */
  own(like: Ownership): Promise<void>;
  /** Renames the temp file over the target. */
  commit(): Promise<void>;
  /**
   * Renames the temp file over the target only if the version in place is still `expected` (its
   * inode; null: no file), checked right before the rename with nothing in between (no await, no
   * other callback): false, and nothing renamed, if not. Where the system can, the rename is an atomic
   * exchange (rename-exchange.ts), so a version another process renamed into place in the instant
   * after the check is not unlinked unseen: `displaced` names where it is now, for the caller to read
   * and remove. The new version must be durable first (staged with its fsync, or fsync() awaited).
   */
  commitIf(expected: bigint | null): false | { displaced: string | null };
  /** Removes the temp file: instead of commit(), or after a commit that failed. */
  discard(): Promise<void>;
}

/**
 * Writes `data` to a new temp file beside `path` and fsyncs it; nothing is visible at `path` until
 * commit(). This is what write-file-atomic does (temp file beside the target, fsync before rename,
 * mode and owner kept, temp file removed on failure), minus the steps a careful caller already knows
 * the answer to: it takes the owner and mode from the fingerprint it has, and keeps the handle open
 * so the new version's fingerprint costs no path lookup.
 *
 * `deferFsync`: the bytes are written (a full disk fails here) but their fsync waits for fsync() or
 * commit(). The shared truth stages while the account is held, and fsyncs once it has let go.
 */
export async function stageFile(path: string, data: string, like: Ownership | null, options: { deferFsync?: boolean } = {}): Promise<StagedFile> {
  const { handle, temp } = await createTemp(path, like?.mode ?? 0o666);
  let done = false;
  // One fsync, whoever asks first; a failed one stays failed (what reached the disk is unknown).
  let synced: Promise<void> | null = null;
  let durable = false;
  const fsync = () =>
    (synced ??= handle.sync().then(() => {
      durable = true;
    }));
  const discard = async () => {
    if (done) return;
    done = true;
    await handle.close().catch(() => {});
    await unlink(temp).catch(() => {});
  };
  let fingerprint: Fingerprint;
  try {
    // Each step is a round trip to the thread pool: the independent ones go together.
    await Promise.all([like && keepOwnership(handle, like), handle.writeFile(data)]);
    // (An fsync changes neither the inode, the size nor the mtime: the fingerprint holds either way.)
    [, fingerprint] = await Promise.all([!options.deferFsync && fsync(), handle.stat({ bigint: true }).then(toFingerprint)]);
  } catch (error) {
    await discard();
    throw error;
  }
  return {
    fingerprint,
    fsync,
    own: (next) => keepOwnership(handle, next),
    async commit() {
      await fsync();
      await rename(temp, path);
      done = true;
      void handle.close().catch(() => {}); // nobody waits for a close
    },
    commitIf(expected) {
      // Synchronous on purpose: the check and the rename are two system calls microseconds apart,
      // where an awaited rename waits its turn in the thread pool behind other files' I/O.
      if (!durable) throw new Error('commitIf() before fsync(): the new version would not be durable');
      if ((fingerprintNow(path)?.ino ?? null) !== expected) return false;
      const how = renameOver(temp, path, { expectEmpty: expected === null });
      if (how === 'occupied') return false;
      done = true;
      void handle.close().catch(() => {});
      if (how === 'renamed') return { displaced: null };
      // Swapped: the temp name holds what was in place — the version checked, or one renamed in since.
      if (statSync(temp, { bigint: true, throwIfNoEntry: false })?.ino !== expected) return { displaced: temp };
      // (Removed in the thread pool: nothing waits for it, and a leftover is removed at the next start.)
      void unlink(temp).catch(() => {});
      return { displaced: null };
    },
    discard,
  };
}

async function createTemp(path: string, mode: number): Promise<{ handle: FileHandle; temp: string }> {
  for (;;) {
    const temp = `${path}.${randomInt(2 ** 32)}`;
    try {
      return { handle: await open(temp, 'wx', mode), temp };
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    }
  }
}

/** The umask narrowed the mode at creation; the owner is the file's when another user made it. */
async function keepOwnership(handle: FileHandle, { mode, uid, gid }: Ownership): Promise<void> {
  await Promise.all([
    handle.chmod(mode & 0o7777),
    // Only root may give a file away; anyone else keeps the new version as their own, as write-file-atomic does.
    handle.chown(uid, gid).catch((error: NodeJS.ErrnoException) => {
      if (!['EPERM', 'EINVAL', 'ENOSYS'].includes(error.code ?? '')) throw error;
    }),
  ]);
}

/**
 * The data folder, held open: an fsync of it makes every rename and new file in it survive power
 * loss, for one call instead of open, fsync and close on every save.
 */
export async function openFolder(dir: string): Promise<{ sync(): Promise<void>; close(): Promise<void> }> {
  const handle = await open(dir, 'r');
  return { sync: () => handle.sync(), close: () => handle.close() };
}

/** Makes a rename or a new file in `dir` survive power loss. */
export async function fsyncDirectory(dir: string): Promise<void> {
  const handle = await open(dir, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}
