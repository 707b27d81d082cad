// The append-only journal of every change: written ahead of the files, read backwards, rotated —
// and, being the memory of the idempotency keys, put back whole when it goes missing while the service runs.

import { open, type FileHandle } from 'node:fs/promises';
import { basename, join } from 'node:path';
import type { JournalEntry, JournalHealth, JournalPort, Log, RememberedKey } from '../domain/ports.ts';
import type { WriteBackHistory } from '../domain/stale-write-back.ts';
import { advance, ageOf, systemClocks, type Clocks, type Stamp } from './journal-clock.ts';
import { entriesBackward, historySince, JOURNAL_FILE, lastWholeLineEnd, linesBackward, listSegments, newestOf, type Segment, type Segments } from './journal-files.ts';
import { encodeEntry } from './journal-line.ts';
import { JournalHealthState } from './journal-health.ts';
import { KeyWindow, type Stamped } from './journal-memory.ts';
import { CHANGED, clearThePlace, identityOf, inspect, isForeign, lostSegment, moveAside, rebuild, UNWRITABLE, writable, writeWhole, type FileIdentity } from './journal-recovery.ts';
import { dropOldSegments, startNewSegment } from './journal-rotation.ts';

export { JOURNAL_FILE } from './journal-files.ts';

export interface JournalOptions {
  maxBytes: number;
  keepSegments: number;
  /** Entries younger than this (the idempotency window) are never dropped, nor their keys forgotten. */
  retainMs: number;
  now?: () => number;
  /** The wall clock, the monotonic clock and the boot (tests); `now` and the system's otherwise. */
  clocks?: Clocks;
  log?: Log;
  /** How often to look whether the journal is still the file it writes, besides after each append. */
  checkEveryMs?: number;
}

const silent: Log = { debug() {}, info() {}, warn() {}, error() {} };

export class Journal implements JournalPort {
  private lastEntry: Stamped | null = null;
  private readonly keys = new KeyWindow();
  private readonly state: JournalHealthState;
  /** Appends, rotations and repairs one at a time: the periodic check runs beside the commit pipeline. */
  private queue: Promise<unknown> = Promise.resolve();
  private timer: NodeJS.Timeout | null = null;

  private constructor(
    private readonly dir: string,
    private handle: FileHandle,
    private identity: FileIdentity,
    private size: number,
    private segments: Segments,
    private readonly clocks: Clocks,
    private readonly options: JournalOptions,
    private readonly log: Log,
  ) {
    this.state = new JournalHealthState(log);
  }

  private get path(): string {
    return join(this.dir, JOURNAL_FILE);
  }

  /** Opens the journal, trimming a torn last line; `trimmed` says whether one was found. */
  static async open(dir: string, options: JournalOptions): Promise<{ journal: Journal; trimmed: boolean }> {
    const log = options.log ?? silent;
    const path = join(dir, JOURNAL_FILE);
    const movedTo = await clearThePlace(dir, path);
    if (movedTo) {
      log.error({ file: JOURNAL_FILE, movedTo: basename(movedTo) }, `${JOURNAL_FILE} was not a file at start-up (a directory?): moved it aside and started a new journal; the Idempotency-Keys it held are not remembered (rotated segments still are)`);
    }
    const handle = await open(path, 'a+');
    const { size } = await handle.stat();
    const keep = await lastWholeLineEnd(handle, size);
    if (keep < size) {
      await handle.truncate(keep);
      await handle.datasync();
    }
    const segments = await listSegments(dir);
    for (const name of segments.skipped) log.warn({ file: name }, 'a name like a journal segment that is not a file: skipped');
    const clocks = options.clocks ?? (await systemClocks(options.now));
    const journal = new Journal(dir, handle, identityOf(await handle.stat()), keep, segments, clocks, options, log);
    if (movedTo) journal.state.whole({ at: new Date(clocks.wall()).toISOString(), reason: 'not a file at start-up', movedAside: basename(movedTo) });
    await journal.remember();
    if (options.checkEveryMs !== 0) {
      journal.timer = setInterval(() => void journal.check(), options.checkEveryMs ?? 1_000);
      journal.timer.unref();
    }
    return { journal, trimmed: keep < size };
  }

  last(): JournalEntry | null {
    return this.lastEntry?.entry ?? null;
  }

  /** The entries with an Idempotency-Key inside the window, oldest first, each with its age as the journal's order tells it. */
  keysInWindow(): RememberedKey[] {
    return this.keys.all().map(({ entry, stamp }) => ({ entry, ageMs: this.ageOf(stamp) }));
  }

  health(): JournalHealth {
    return this.state.current;
  }

  onHealthChange(listener: (health: JournalHealth) => void): void {
    this.state.onChange(listener);
  }

  append(entries: readonly JournalEntry[]): Promise<() => Promise<void>> {
    return this.exclusive(() => this.appendNow(entries));
  }

  /** Looks whether the journal is still the file it writes; puts it back whole when it is not (health() tells how that went). */
  check(): Promise<void> {
    return this.exclusive(() => this.heal()).catch(() => {});
  }

  compact(): Promise<void> {
    return this.exclusive(() => this.rotate());
  }

  /** Up to `limit` entries, newest first, across rotated segments; reads only what it returns. */
  async recent(limit: number): Promise<JournalEntry[]> {
    const entries: JournalEntry[] = [];
    if (limit <= 0) return entries;
    for await (const { entry } of this.newestFirst()) {
      entries.push(entry);
      if (entries.length >= limit) break;
    }
    return entries;
  }

  /** Reads back from the newest entry only as far as `revision`: recent revisions cost one read. */
  writeBackHistory(revision: number, file: string): Promise<WriteBackHistory> {
    return historySince(this.newestFirst(), revision, file);
  }

  async close(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    await this.exclusive(async () => {
      // A journal deleted or replaced since the last look (up to a second ago) would go with this
      // process, and the next start would forget every key: one last look puts it back first.
      await this.heal().catch((error: unknown) => this.log.error({ err: error, file: JOURNAL_FILE }, 'the journal could not be put back before stopping'));
      await this.handle.close();
    });
  }

  private async appendNow(entries: readonly JournalEntry[]): Promise<() => Promise<void>> {
    if (this.state.trouble) await this.heal();
    let stamp = this.lastEntry?.stamp ?? null;
    const stamped = entries.map((entry) => ({ entry, stamp: (stamp = advance(stamp, this.clocks)) }));
    const data = Buffer.from(stamped.map(({ entry, stamp: s }) => encodeEntry(entry, s)).join(''));
    const before = { size: this.size, last: this.lastEntry, keys: this.keys.size };
    const forget = () => {
      this.lastEntry = before.last;
      this.keys.truncate(before.keys);
    };
    try {
      for (let written = 0; written < data.length; ) written += (await this.handle.write(data, written)).bytesWritten;
      await this.handle.datasync();
    } catch (error) {
      await this.truncateTo(before.size).catch(() => {});
      this.state.broken(UNWRITABLE, `${UNWRITABLE} (${(error as Error).message})`, error);
      throw error;
    }
    this.size += data.length;
    this.lastEntry = stamped.at(-1) ?? this.lastEntry;
    this.keys.add(stamped);
    this.keys.expire((s) => this.ageOf(s) > this.options.retainMs);
    // Appended to a file that was deleted or replaced meanwhile, these lines would be lost to the next
    // start. (A look that fails is left to the next one: the lines are written.)
    const problem = await inspect(this.path, this.identity, this.size).catch(() => null);
    if (problem) {
      try {
        await this.repair(problem);
      } catch (error) {
        // Not acknowledged, so not kept: out of memory, and out of the file it went to (not someone else's).
        if (problem !== CHANGED) await this.truncateTo(before.size).catch(() => {});
        forget();
        throw error;
      }
    }
    return () =>
      this.exclusive(async () => {
        await this.truncateTo(this.size - data.length);
        forget();
      });
  }

  /** Whatever keeps the journal from being whole, mended (a journal that still cannot be written: not tried). */
  private async heal(): Promise<void> {
    const problem = (await inspect(this.path, this.identity, this.size)) ?? this.state.trouble ?? (await lostSegment(this.segments.files));
    if (problem === null) return;
    if (problem === UNWRITABLE && !(await writable(this.path))) throw new Error(`${JOURNAL_FILE} ${UNWRITABLE}`);
    await this.repair(problem);
  }

  /**
   * Puts a whole journal back in its place: the bytes this process wrote (still readable through its
   * handle), preceded by what memory holds that no surviving segment does — every entry with a key
   * inside the window, and the newest. Whatever stands in its place is kept beside, never overwritten.
   */
  private async repair(problem: string): Promise<void> {
    try {
      const remembered = [...this.keys.all(), ...(this.lastEntry ? [this.lastEntry] : [])];
      const rebuilt = await rebuild(this.dir, problem, { handle: this.handle, size: this.size, newest: this.lastEntry?.entry.revision ?? null }, remembered);
      this.segments = rebuilt.segments;
      const movedTo = isForeign(problem) ? await moveAside(this.path).catch((error: NodeJS.ErrnoException) => (error.code === 'ENOENT' ? null : Promise.reject(error))) : null;
      await this.swap(await writeWhole(this.dir, this.path, rebuilt.content));
      const details = { file: JOURNAL_FILE, problem, ...(movedTo && { movedTo: basename(movedTo) }), fromMemory: rebuilt.fromMemory, kept: rebuilt.keptOwn ? 'every entry this process wrote' : 'memory only' };
      if (problem === UNWRITABLE) this.log.info(details, 'the journal can be written again');
      else this.log.error(details, `the journal ${problem} while the service ran: re-created it from memory (the current balance and every Idempotency-Key younger than 24 h)`);
      this.state.whole({ at: new Date(this.clocks.wall()).toISOString(), reason: problem, ...(movedTo && { movedAside: basename(movedTo) }) });
    } catch (error) {
      this.state.broken(problem, `${problem}; could not be re-created (${(error as Error).message})`, error);
      throw error;
    }
  }

  /** Past its size, the journal continues in a new file; old segments go, but never one with an entry inside the window. */
  private async rotate(): Promise<void> {
    if (this.size <= this.options.maxBytes || !this.state.current.ok || (await inspect(this.path, this.identity, this.size))) return;
    const rotated = await startNewSegment(this.dir, this.segments);
    await this.swap(rotated.fresh);
    this.segments = rotated.segments;
    const young = async (segment: Segment) => {
      const newest = await newestOf(linesBackward(segment.path));
      return newest !== null && this.ageOf(newest.stamp) <= this.options.retainMs;
    };
    this.segments = { ...this.segments, files: await dropOldSegments(this.segments.files, this.options.keepSegments, young) };
  }

  /** Appends go to `fresh` from now on. */
  private async swap(fresh: FileHandle): Promise<void> {
    const old = this.handle;
    [this.handle, this.identity, this.size] = [fresh, identityOf(await fresh.stat()), (await fresh.stat()).size];
    await old.close().catch(() => {});
  }

  /** Reads back from the newest entry: its last entry, and every key younger than the window (no further). */
  private async remember(): Promise<void> {
    const found: Stamped[] = [];
    for await (const item of this.newestFirst()) {
      this.lastEntry ??= item;
      if (this.ageOf(item.stamp) > this.options.retainMs) break;
      found.push(item);
    }
    this.keys.add(found.reverse());
  }

  private newestFirst(): AsyncGenerator<Stamped> {
    return entriesBackward([this.path, ...this.segments.files.map((s) => s.path).reverse()]);
  }

  private ageOf(stamp: Stamp): number {
    return ageOf(stamp, this.lastEntry?.stamp ?? null, this.clocks);
  }

  private async truncateTo(size: number): Promise<void> {
    await this.handle.truncate(size);
    await this.handle.datasync();
    this.size = size;
  }

  private exclusive<T>(step: () => Promise<T>): Promise<T> {
    const run = this.queue.then(step, step);
    this.queue = run.catch(() => {});
    return run;
  }
}
