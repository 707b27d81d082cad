// The journal read without being opened for writing — nothing trimmed, nothing moved aside — for
// `balance-sync doctor`, which must leave a data folder exactly as it found it.

import { open, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { JournalEntry } from '../domain/ports.ts';
import type { WriteBackHistory } from '../domain/stale-write-back.ts';
import { entriesBackward, historySince, JOURNAL_FILE, lastWholeLineEnd, listSegments } from './journal-files.ts';

export interface JournalOnDisk {
  /** The newest whole entry, across the journal and its rotated segments. */
  head: JournalEntry | null;
  writeBackHistory(revision: number, file: string): Promise<WriteBackHistory>;
  /** The journal file itself: missing, not a file, or its size and whether its last line is torn. */
  file: { state: 'missing' } | { state: 'not a file' } | { state: 'file'; bytes: number; tornTail: boolean };
  segments: { name: string; bytes: number }[];
  /** Names like a segment that are not files: start-up skips them. */
  skipped: string[];
}

export async function readJournal(dir: string): Promise<JournalOnDisk> {
  const path = join(dir, JOURNAL_FILE);
  const info = await stat(path).catch(() => null);
  const listed = await listSegments(dir);
  const segmentPaths = listed.files.map((segment) => segment.path).reverse();
  const paths = info?.isFile() ? [path, ...segmentPaths] : segmentPaths;
  const newest = (await entriesBackward(paths).next()).value;
  const segments = await Promise.all(listed.files.map(async (segment) => ({ name: segment.path.slice(dir.length + 1), bytes: (await stat(segment.path)).size })));
  return {
    head: newest?.entry ?? null,
    writeBackHistory: (revision, file) => historySince(entriesBackward(paths), revision, file),
    file: !info ? { state: 'missing' } : !info.isFile() ? { state: 'not a file' } : { state: 'file', bytes: info.size, tornTail: await tornTail(path, info.size) },
    segments,
    skipped: listed.skipped,
  };
}

async function tornTail(path: string, size: number): Promise<boolean> {
  const handle = await open(path, 'r');
  try {
    return (await lastWholeLineEnd(handle, size)) < size;
  } finally {
    await handle.close();
  }
}
