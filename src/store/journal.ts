// The append-only journal of every change: written ahead of the files, read backwards, rotated.

import { open, readdir, rename, unlink, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import type { Amount } from '../domain/amount.ts';
import type { JournalEntry, JournalPort } from '../domain/ports.ts';
import type { WriteBackHistory } from '../domain/stale-write-back.ts';
import { fsyncDirectory } from './durable-write.ts';
import { decodeEntry, encodeEntry } from './journal-line.ts';

export const JOURNAL_FILE = 'balance_journal.jsonl';
const CHUNK = 64 * 1024;

export interface JournalOptions {
  maxBytes: number;
  keepSegments: number;
  /** Segments holding entries younger than this are never dropped (the idempotency window). */
  retainMs: number;
  now?: () => number;
}

export class Journal implements JournalPort {
  private lastEntry: JournalEntry | null = null;

  private constructor(
    private readonly dir: string,
    private handle: FileHandle,
    private size: number,
    private readonly options: JournalOptions,
  ) {}

  /** Opens the journal, trimming a torn last line; `trimmed` says whether one was found. */
  static async open(dir: string, options: JournalOptions): Promise<{ journal: Journal; trimmed: boolean }> {
    const path = join(dir, JOURNAL_FILE);
    const handle = await open(path, 'a+');
    const { size } = await handle.stat();
    const keep = await lastWholeLineEnd(handle, size);
    if (keep < size) {
      await handle.truncate(keep);
      await handle.datasync();
    }
    const journal = new Journal(dir, handle, keep, options);
    for await (const entry of journal.newestFirst()) {
      journal.lastEntry = entry;
      break;
    }
    return { journal, trimmed: keep < size };
  }

  last(): JournalEntry | null {
    return this.lastEntry;
  }

  async append(entries: readonly JournalEntry[]): Promise<() => Promise<void>> {
    const before = { size: this.size, last: this.lastEntry };
    const data = Buffer.from(entries.map(encodeEntry).join(''));
    const undo = async () => {
      await this.handle.truncate(before.size);
      await this.handle.datasync();
      this.size = before.size;
      this.lastEntry = before.last;
    };
    try {
      for (let written = 0; written < data.length; ) {
        written += (await this.handle.write(data, written)).bytesWritten;
      }
      await this.handle.datasync();
    } catch (error) {
      await undo().catch(() => {});
      throw error;
    }
    this.size += data.length;
    this.lastEntry = entries.at(-1) ?? this.lastEntry;
    return undo;
  }

  async compact(): Promise<void> {
    if (this.size <= this.options.maxBytes) return;
    const segments = await this.segments();
    const next = (segments.at(-1)?.number ?? 0) + 1;
    const current = join(this.dir, JOURNAL_FILE);
    const segment = join(this.dir, `${JOURNAL_FILE}.${next}`);
    // Swap handles only once the new file is open: a failure anywhere leaves a journal that still appends.
    await rename(current, segment);
    let fresh: FileHandle;
    try {
      fresh = await open(current, 'a+');
    } catch (error) {
      await rename(segment, current);
      throw error;
    }
    const old = this.handle;
    this.handle = fresh;
    this.size = 0;
    await old.close();
    await fsyncDirectory(this.dir);

    const rotated = [...segments, { number: next, path: segment }];
    const cutoff = (this.options.now ?? Date.now)() - this.options.retainMs;
    while (rotated.length > this.options.keepSegments) {
      const oldest = rotated[0] as { path: string };
      const newestInIt = await firstEntry(linesBackward(oldest.path));
      if (newestInIt && Date.parse(newestInIt.at) >= cutoff) break;
      await unlink(oldest.path);
      rotated.shift();
    }
  }

  /** Up to `limit` entries, newest first, across rotated segments; reads only what it returns. */
  async recent(limit: number): Promise<JournalEntry[]> {
    const entries: JournalEntry[] = [];
    if (limit <= 0) return entries;
    for await (const entry of this.newestFirst()) {
      entries.push(entry);
      if (entries.length >= limit) break;
    }
    return entries;
  }

  /** Reads back from the newest entry only as far as `revision`: recent revisions cost one read. */
  async writeBackHistory(revision: number, file: string): Promise<WriteBackHistory> {
    const echoes: Amount[] = [];
    for await (const entry of this.newestFirst()) {
      if (entry.revision === revision) return { atRevision: entry.balance, echoes };
      if (entry.revision < revision) break;
      if (entry.source === `external:${file}`) echoes.push(entry.balance);
    }
    return { atRevision: null, echoes };
  }

  /** Every entry at or after `sinceMs`, newest first. */
  async since(sinceMs: number): Promise<JournalEntry[]> {
    const entries: JournalEntry[] = [];
    for await (const entry of this.newestFirst()) {
      if (Date.parse(entry.at) < sinceMs) break;
      entries.push(entry);
    }
    return entries;
  }

  async close(): Promise<void> {
    await this.handle.close();
  }

  private async *newestFirst(): AsyncGenerator<JournalEntry> {
    const paths = [join(this.dir, JOURNAL_FILE), ...(await this.segments()).reverse().map((s) => s.path)];
    for (const path of paths) {
      for await (const line of linesBackward(path)) {
        const entry = decodeEntry(line);
        if (entry) yield entry;
      }
    }
  }

  private async segments(): Promise<{ number: number; path: string }[]> {
    const prefix = `${JOURNAL_FILE}.`;
    return (await readdir(this.dir))
      .filter((name) => name.startsWith(prefix) && /^\d+$/.test(name.slice(prefix.length)))
      .map((name) => ({ number: Number(name.slice(prefix.length)), path: join(this.dir, name) }))
      .sort((a, b) => a.number - b.number);
  }
}

async function firstEntry(lines: AsyncGenerator<string>): Promise<JournalEntry | null> {
  for await (const line of lines) {
    const entry = decodeEntry(line);
    if (entry) return entry;
  }
  return null;
}

/** Complete lines of a file, last first, read in chunks from the end. */
async function* linesBackward(path: string): AsyncGenerator<string> {
  let handle: FileHandle;
  try {
    handle = await open(path, 'r');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw error;
  }
  try {
    let position = (await handle.stat()).size;
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
  } finally {
    await handle.close();
  }
}

/** The length to keep so the file ends with a whole, readable entry (or is empty). */
async function lastWholeLineEnd(handle: FileHandle, size: number): Promise<number> {
  if (size === 0) return 0;
  const length = Math.min(size, CHUNK);
  const tail = Buffer.alloc(length);
  await handle.read(tail, 0, length, size - length);
  const endsWithNewline = tail[length - 1] === 10;
  const lastNewline = tail.lastIndexOf(10, endsWithNewline ? length - 2 : length - 1);
  const lineStart = lastNewline >= 0 ? size - length + lastNewline + 1 : size - length;
  if (lastNewline < 0 && size > length) return size; // a single huge line: leave it to the reader
  const line = tail.toString('utf8', lineStart - (size - length), endsWithNewline ? length - 1 : length);
  return endsWithNewline && decodeEntry(line) ? size : lineStart;
}
