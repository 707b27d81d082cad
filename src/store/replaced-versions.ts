// Versions of a file that the service replaced by renaming a new one over it, held open for a while:
// a legacy writer may still be writing into one, and what it writes there must not be lost.

import type { FileHandle } from 'node:fs/promises';
import { sameFingerprint, toFingerprint, type Fingerprint } from './text-file.ts';

/**
 * How long a version that a writer is still writing into is waited for. A stalled write that
 * finishes within 5 s of its start is kept; its start is before the rename (the writer already had
 * the file open), so 5 s from the first sight of the write covers it, with a margin for a writer
 * that resumes in several chunks.
 */
export const STALLED_WRITE_WINDOW_MS = 6_000;

/**
 * An unchanged replaced version is let go once a look at least this long after the rename still finds
 * it unchanged. A legacy `open(path, 'w')` truncates inside the open call: a writer that resolved the
 * path just before the rename shows its truncation in the held version within that call, long before this.
 */
const GRACE_MS = 50;

/** A `.corrupt-` copy kept of a version; `removable` when it only held a write in progress. */
export interface CorruptCopy {
  name: string;
  removable: boolean;
}

interface Held {
  handle: FileHandle;
  /** As it was when last judged: at the last look before the rename, then as last read while still broken. */
  judged: Fingerprint | null;
  since: number;
  /** Set once another process wrote into it: the end of its stalled-write window. */
  until: number | null;
  copy: CorruptCopy | null;
  released: boolean;
}

/** A whole version another process wrote into a replaced version of the file. */
export interface StrayWrite {
  text: string;
  fingerprint: Fingerprint;
  copy: CorruptCopy | null;
}

export class ReplacedVersions {
  private held: Held[] = [];

  /**
   * Keeps `handle` (the version a rename just replaced, as `seen` by the last look before it)
   * reachable. A version that was half-written (quarantined: `copy` removable) has a writer stalled
   * in it by definition: it is watched for the whole window, not let go after the grace.
   */
  hold(handle: FileHandle, seen: Fingerprint | null, copy: CorruptCopy | null): void {
    const since = Date.now();
    this.held.push({ handle, judged: seen, since, until: copy?.removable ? since + STALLED_WRITE_WINDOW_MS : null, copy, released: false });
  }

  get size(): number {
    return this.held.length;
  }

  /** One fstat per held version: whether one was written to since it was judged, or its window ended. */
  async changed(): Promise<boolean> {
    for (const version of [...this.held]) {
      const now = await statOf(version);
      if (now !== null && (!sameFingerprint(now, version.judged) || (version.until !== null && Date.now() > version.until))) return true;
    }
    return false;
  }

  /**
   * The commit pipeline's look: whole writes found in held versions (oldest first), and the versions
   * whose window ended with the write still broken (garbage, handed to `keepGarbage` unless a copy of
   * it exists). Versions nobody wrote into are let go once past the grace.
   */
  async collect(isWhole: (text: string) => boolean, keepGarbage: (bytes: Buffer) => Promise<string>): Promise<{ finished: StrayWrite[]; kept: string[] }> {
    const finished: StrayWrite[] = [];
    const kept: string[] = [];
    for (const version of [...this.held]) {
      const now = await statOf(version);
      if (now === null) continue;
      if (sameFingerprint(now, version.judged)) {
        if (version.until === null ? Date.now() - version.since >= GRACE_MS : Date.now() > version.until) {
          // Still broken when its window ended: real garbage, which stays quarantined (a copy is kept
          // now if none was; a quarantined version has its copy already).
          if (version.until !== null && !version.copy) kept.push(await keepGarbage(await readAll(version.handle, now)));
          this.release(version);
        }
        continue;
      }
      const text = (await readAll(version.handle, now)).toString('utf8');
      if (isWhole(text)) {
        finished.push({ text, fingerprint: now, copy: version.copy });
        this.release(version);
      } else {
        version.judged = now;
        version.until ??= Date.now() + STALLED_WRITE_WINDOW_MS;
      }
    }
    return { finished: finished.sort((a, b) => Number(a.fingerprint.mtimeNs - b.fingerprint.mtimeNs)), kept };
  }

  /**
   * Lets go of the versions nobody wrote into, once past the grace. In the commit pipeline only, like
   * collect(): a version is never let go while it is being read.
   */
  async letGo(): Promise<void> {
    await Promise.all(
      this.held.map(async (version) => {
        if (version.until !== null || Date.now() - version.since < GRACE_MS) return;
        const now = await statOf(version);
        if (now !== null && sameFingerprint(now, version.judged)) this.release(version);
      }),
    );
  }

  /** Lets every version go (the service is closing). */
  releaseAll(): void {
    for (const version of [...this.held]) this.release(version);
  }

  private release(version: Held): void {
    if (version.released) return;
    version.released = true;
    this.held = this.held.filter((v) => v !== version);
    void version.handle.close().catch(() => {});
  }
}

/** Its fingerprint now, or null once it has been let go (a look outside the pipeline may race a release). */
async function statOf(version: Held): Promise<Fingerprint | null> {
  if (version.released) return null;
  try {
    return toFingerprint(await version.handle.stat({ bigint: true }));
  } catch {
    return null;
  }
}

/** The whole version, read by position: the handle's own position is never used. */
async function readAll(handle: FileHandle, fingerprint: Fingerprint): Promise<Buffer> {
  const bytes = Buffer.alloc(Number(fingerprint.size));
  let filled = 0;
  while (filled < bytes.length) {
    const { bytesRead } = await handle.read(bytes, filled, bytes.length - filled, filled);
    if (bytesRead === 0) break;
    filled += bytesRead;
  }
  return bytes.subarray(0, filled);
}
