// Putting a new version of a file in place without losing anything another process writes: a last
// look before the rename, and the version the rename replaces held open and watched afterwards.

import { open, unlink, type FileHandle } from 'node:fs/promises';
import { FileChangedError, type PreparedWrite } from '../domain/ports.ts';
import { stageFile } from './durable-write.ts';
import type { CorruptCopy, ReplacedVersions } from './replaced-versions.ts';
import { openWithoutWaiting, sameFingerprint, sameOwnership, toFingerprint, type Fingerprint } from './text-file.ts';

/** What the file's adapter knows of the file, read at the moment of the look. */
export interface InPlace {
  /** The file's name, for FileChangedError. */
  name: string;
  /** Where the file really is: a symlink's target is replaced, not the link. */
  path: string;
  /** The version last read or written: the last look compares with it. */
  seen: Fingerprint | null;
  /** A `.corrupt-` copy of the version in place, handed on with it when it is replaced. */
  copy: CorruptCopy | null;
}

/** The version in place at the last look, held open, and how it is to be judged once replaced. */
type Looked = { old: FileHandle | null; now: Fingerprint | null; judged: Fingerprint | null };

/**
 * `text`, fsynced beside the file (`deferFsync`: by fsync() or commit()); in place only after a last
 * look finds the file as last seen (or, with `overwrite`, regardless). `placed` is told the new
 * version's fingerprint once it is in place.
 */
export async function stageOver(
  at: () => InPlace,
  replaced: ReplacedVersions,
  text: string,
  placed: (seen: Fingerprint) => void,
  options: { deferFsync?: boolean } = {},
): Promise<Omit<PreparedWrite, 'revert'>> {
  const staged = await stageFile(at().path, text, at().seen, options);
  let looked: Looked | null = null;
  const discard = async () => {
    await looked?.old?.close().catch(() => {});
    looked = null;
    await staged.discard();
  };
  const look = async (overwrite = false): Promise<Looked> => {
    const { name, path, seen } = at();
    // Looked again (the shared truth looks once more after COMMIT): the earlier look's version goes.
    const earlier = looked;
    looked = null;
    await earlier?.old?.close().catch(() => {});
    // The last look holds the version it looks at open (see commit), and lets go of older ones.
    const [old] = await Promise.all([openWithoutWaiting(path), replaced.letGo()]);
    let now: Fingerprint | null = null;
    try {
      now = old && toFingerprint(await old.stat({ bigint: true }));
    } catch (error) {
      await old?.close();
      throw error;
    }
    const same = sameFingerprint(now, seen);
    // Overwritten on purpose (a save that raced too often): the held version is judged against what
    // was last read, so the outside edit in it is found and merged like any stray write.
    looked = { old, now, judged: same || !overwrite ? now : seen };
    if (!same && !overwrite) {
      // An outside edit since the last read must be adopted, not overwritten.
      await discard();
      throw new FileChangedError(name);
    }
    return looked;
  };
  return {
    lastLook: async (options) => void (await look(options?.overwrite)),
    fsync: () => staged.fsync(),
    commit: async () => {
      // (Before the look when there is none yet: the look and the rename stay as close as they can be.)
      await staged.fsync().catch(async (error: unknown) => {
        await discard();
        throw error;
      });
      const { old, now, judged } = looked ?? (await look());
      looked = null;
      const { name, path, seen, copy } = at();
      // Someone changed only its mode or owner since it was read: the new version keeps theirs.
      const reowned = now && seen && !sameOwnership(now, seen) ? now : null;
      let renamed: ReturnType<typeof staged.commitIf>;
      try {
        if (reowned) await staged.own(reowned);
        // The version in place must still be the one held open, right up to the rename: a writer that
        // renamed a new version into place since the look (os.replace, a new inode) would have it
        // unlinked by ours, with nothing left to read it from. The look's open and fstat, and this
        // rename's turn in the thread pool, took a millisecond or so under load; the check and the
        // rename are two system calls in a row, and the rename an atomic exchange of the two names:
        // a version renamed in after the check comes back under the temp name (`displaced`).
        renamed = staged.commitIf(now?.ino ?? null);
      } catch (error) {
        await old?.close();
        await staged.discard();
        throw error;
      }
      if (renamed === false) {
        // Found in place, that version is read and judged like any outside edit: this save goes round again.
        await old?.close();
        await staged.discard();
        throw new FileChangedError(name);
      }
      // Why no outside write is lost to this rename, by construction rather than by a short window:
      // a legacy writer that opened the file before the rename writes into the version the rename
      // replaced, not into the new one, and the rename unlinks that version. It is held open here
      // (`old`, opened as the last look), so whatever lands in it stays readable: any change to it
      // since the look — a write that landed between the look and the rename, or one still coming
      // from a writer that had the file open — is found at the next look (hasChanged), waited for
      // while it is broken (a stalled writer), and merged like any outside edit once it is whole
      // (strayWrites). A legacy `open(path, 'w')` truncates within the open call itself, so a
      // writer that resolved the path before the rename shows in the held version long before the
      // grace after which an untouched version is let go.
      if (old && now) replaced.hold(old, judged, copy);
      // Renamed into place in the instant between the check and the exchange: held like any replaced
      // version another process wrote to (judged as what was looked at, which it is not), and merged.
      if (renamed.displaced) await holdDisplaced(replaced, renamed.displaced, now);
      const { mode, uid, gid } = reowned ?? staged.fingerprint;
      placed({ ...staged.fingerprint, mode, uid, gid });
    },
    discard,
  };
}

async function holdDisplaced(replaced: ReplacedVersions, displaced: string, looked: Fingerprint | null): Promise<void> {
  const handle = await open(displaced, 'r').catch(() => null);
  await unlink(displaced).catch(() => {});
  if (handle) replaced.hold(handle, looked, null);
}
