// Corrupt files moved aside, and watched for a while: a legacy writer that stalled half-way goes on
// writing into the renamed file through its open handle, and its finished write must not be lost.

import { rename } from 'node:fs/promises';
import { fingerprintOf, mtimeMsOf, readText, sameFingerprint, type Fingerprint } from './text-file.ts';

/**
 * How long a quarantined copy is watched. A stalled write that finishes within 5 s of its start is
 * kept; its start is before the quarantine (the file was already half-written), so 5 s from the
 * quarantine covers it, and the margin covers a writer that resumes in several chunks.
 */
export const STALLED_WRITE_WINDOW_MS = 6_000;

interface Watched {
  path: string;
  /** The file it was moved aside from, and goes back to. */
  target: string;
  until: number;
  /** The copy as last judged; null until it has been read once (the writer may finish during the rename). */
  judged: Fingerprint | null;
}

export class Quarantine {
  private watched: Watched[] = [];

  constructor(
    /** Whether a text is a whole file again (parses, and has the shape the file needs). */
    private readonly isWhole: (text: string) => boolean,
    private readonly windowMs = STALLED_WRITE_WINDOW_MS,
  ) {}

  /** Renames `target` to `<target>.corrupt-<UTC timestamp>` and starts watching the copy. */
  async moveAside(target: string): Promise<string> {
    const stamp = new Date().toISOString().replace(/[-:]/g, '');
    const aside = `${target}.corrupt-${stamp}`;
    await rename(target, aside);
    this.watched.push({ path: aside, target, until: Date.now() + this.windowMs, judged: null });
    return aside;
  }

  /** One stat per watched copy: whether one may have something to say. */
  async changed(): Promise<boolean> {
    for (const copy of this.watched) {
      if (Date.now() > copy.until || !sameFingerprint(await fingerprintOf(copy.path), copy.judged)) return true;
    }
    return false;
  }

  /**
   * A watched copy that became a whole file is renamed back over its target, so it is read (and
   * adopted) as the outside edit it is; returns its name. It goes back unless another process wrote
   * the target after the copy was finished: `targetIsOurs` says the target still holds what the
   * service last wrote or read (the heal, most often, written after the stalled write began). A copy
   * still broken when its window ends is garbage after all, and stays where it is.
   */
  async restoreFinished(targetIsOurs: () => Promise<boolean>): Promise<string | null> {
    const still: Watched[] = [];
    let restored: string | null = null;
    for (const copy of this.watched) {
      const open = Date.now() <= copy.until;
      // One restore per look: the target is read in between.
      if (restored !== null) {
        still.push(copy);
        continue;
      }
      if (sameFingerprint(await fingerprintOf(copy.path), copy.judged)) {
        if (open) still.push(copy);
        continue;
      }
      const read = await readText(copy.path);
      if (read === null) continue; // someone removed it
      if (!this.isWhole(read.text)) {
        if (open) still.push({ ...copy, judged: read.fingerprint });
        continue;
      }
      // Against another process's write, newest wins, as at start-up.
      const target = await fingerprintOf(copy.target);
      if (target === null || (await targetIsOurs()) || mtimeMsOf(read.fingerprint) >= mtimeMsOf(target)) {
        await rename(copy.path, copy.target);
        restored = copy.path;
      }
    }
    this.watched = still;
    return restored;
  }
}
