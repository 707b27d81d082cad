// The journal's files on disk: its segments, read backwards line by line, and a torn end found.

import { open, readdir, stat, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import type { Stamp } from './journal-clock.ts';
import type { JournalEntry } from '../domain/ports.ts';
import type { WriteBackHistory } from '../domain/stale-write-back.ts';
import { decodeLine } from './journal-line.ts';

export const JOURNAL_FILE = 'balance_journal.jsonl';
const SEGMENT = /^balance_journal\.jsonl\.(\d+)$/;
const CHUNK = 64 * 1024;

export interface Segment {
  number: number;
  path: string;
}

export interface Segments {
  /** Rotated segments that are files, oldest first. */
  files: Segment[];
  /** Names like a segment that are not files (a directory `balance_journal.jsonl.99`): skipped, never read. */
  skipped: string[];
  /** The highest number any such name uses, so that rotation never picks a taken one. */
  highest: number;
}

export async function listSegments(dir: string): Promise<Segments> {
  const found = (await readdir(dir)).flatMap((name) => {
    const match = SEGMENT.exec(name);
    return match ? [{ name, number: Number(match[1]), path: join(dir, name) }] : [];
  });
  const kinds = await Promise.all(found.map(async (s) => (await stat(s.path).catch(() => null))?.isFile() ?? false));
  const files = found.filter((_, i) => kinds[i]).sort((a, b) => a.number - b.number);
  return {
    files: files.map(({ number, path }) => ({ number, path })),
    skipped: found.filter((_, i) => !kinds[i]).map((s) => s.name),
    highest: Math.max(0, ...found.map((s) => s.number)),
  };
}

/** Complete lines of a file, last first, read in chunks from the end; nothing when it is gone. */
export async function* linesBackward(path: string): AsyncGenerator<string> {
  let handle: FileHandle;
  try {
    handle = await open(path, 'r');
  } catch (error) {
    if (['ENOENT', 'EISDIR'].includes((error as NodeJS.ErrnoException).code ?? '')) return;
    throw error;
  }
  try {
    yield* linesOf(handle, (await handle.stat()).size);
  } finally {
    await handle.close();
  }
}

/** Lines of an open file's first `size` bytes, last first. */
export async function* linesOf(handle: FileHandle, size: number): AsyncGenerator<string> {
  let position = size;
  let carry = Buffer.alloc(0);
  while (position > 0) {
    const length = Math.min(CHUNK, position);
    position -= length;
    const chunk = Buffer.alloc(length);
    await handle.read(chunk, 0, length, position);
    const buffer = Buffer.concat([chunk, carry]);
    let end = buffer.length;
    for (;;) {
      // (lastIndexOf would read a negative offset as counted from the end.)
      const newline = end > 0 ? buffer.lastIndexOf(10, end - 1) : -1;
      if (newline < 0) break;
      if (newline + 1 < end) yield buffer.toString('utf8', newline + 1, end);
      end = newline;
    }
    carry = buffer.subarray(0, end);
  }
  if (carry.length > 0) yield carry.toString('utf8');
}

/** Whole entries of `paths`, in that order, each read last line first. */
export async function* entriesBackward(paths: readonly string[]): AsyncGenerator<{ entry: JournalEntry; stamp: Stamp }> {
  for (const path of paths) {
    for await (const line of linesBackward(path)) {
      const decoded = decodeLine(line);
      if (decoded) yield decoded;
    }
  }
}

/** The newest whole entry among `lines`, or null. */
export async function newestOf(lines: AsyncGenerator<string>): Promise<{ entry: JournalEntry; stamp: Stamp } | null> {
  for await (const line of lines) {
    const decoded = decodeLine(line);
    if (decoded) {
      await lines.return(undefined);
      return decoded;
    }
  }
  return null;
}

/** The length to keep so the file ends with a whole, readable entry (or is empty). */
export async function lastWholeLineEnd(handle: FileHandle, size: number): Promise<number> {
  if (size === 0) return 0;
  const length = Math.min(size, CHUNK);
  const tail = Buffer.alloc(length);
  await handle.read(tail, 0, length, size - length);
  const endsWithNewline = tail[length - 1] === 10;
  const lastNewline = tail.lastIndexOf(10, endsWithNewline ? length - 2 : length - 1);
  const lineStart = lastNewline >= 0 ? size - length + lastNewline + 1 : size - length;
  if (lastNewline < 0 && size > length) return size; // a single huge line: leave it to the reader
  const line = tail.toString('utf8', lineStart - (size - length), endsWithNewline ? length - 1 : length);
  return endsWithNewline && decodeLine(line) ? size : lineStart;
}

/**
 * What the journal knows since `revision`, for judging a write-back of `file` (stale-write-back.ts):
 * read from the newest entry back only as far as that revision.
 */
export async function historySince(newestFirst: AsyncIterable<{ entry: JournalEntry }>, revision: number, file: string): Promise<WriteBackHistory> {
  const echoes: JournalEntry['balance'][] = [];
  // The newest write of that file carrying that same revision: what a writer still carrying it last knew.
  let lastWritten: JournalEntry['balance'] | null = null;
  for await (const { entry } of newestFirst) {
    if (entry.revision === revision) return { atRevision: entry.balance, echoes, lastWritten };
    if (entry.revision < revision) break;
    if (entry.source !== `external:${file}`) continue;
    // What that file's writer put there: a booking's written balance, not the balance it led to.
    echoes.push(entry.written ?? entry.balance);
    if (lastWritten === null && entry.basedOn === revision) lastWritten = entry.written ?? entry.balance;
  }
  return { atRevision: null, echoes, lastWritten };
}
