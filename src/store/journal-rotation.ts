// Rotation: past its size the journal continues in a new file, and the oldest segments go — never
// one that holds an entry younger than the idempotency window.

import { open, rename, unlink, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import { fsyncDirectory } from './durable-write.ts';
import { JOURNAL_FILE, listSegments, type Segment, type Segments } from './journal-files.ts';

/** Renames the journal to the next free segment number and opens a new one in its place. */
export async function startNewSegment(dir: string, segments: Segments): Promise<{ fresh: FileHandle; segments: Segments }> {
  const path = join(dir, JOURNAL_FILE);
  // The number after every name like a segment, files or not, as the folder is now: a directory
  // `.99` made while the service runs is never renamed over.
  const next = Math.max(segments.highest, (await listSegments(dir)).highest) + 1;
  const segment = join(dir, `${JOURNAL_FILE}.${next}`);
  await rename(path, segment);
  let fresh: FileHandle;
  try {
    fresh = await open(path, 'a+');
  } catch (error) {
    // A failure anywhere leaves a journal that still appends.
    await rename(segment, path);
    throw error;
  }
  await fsyncDirectory(dir);
  return { fresh, segments: { ...segments, files: [...segments.files, { number: next, path: segment }], highest: next } };
}

/** Removes the oldest segments beyond `keep`, stopping at the first that is still `young`. */
export async function dropOldSegments(files: readonly Segment[], keep: number, young: (segment: Segment) => Promise<boolean>): Promise<Segment[]> {
  const kept = [...files];
  while (kept.length > keep) {
    const oldest = kept[0] as Segment;
    if (await young(oldest)) break;
    await unlink(oldest.path).catch((error: NodeJS.ErrnoException) => (error.code === 'ENOENT' ? undefined : Promise.reject(error)));
    kept.shift();
  }
  return kept;
}
