// When the journal is no longer the file it writes (deleted, replaced, written by someone else, or
// unwritable): finding out, and putting a whole journal back in its place.

import { constants } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { access, open, readdir, rename, stat, unlink, type FileHandle } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { fsyncDirectory } from './durable-write.ts';
import { decodeLine, encodeEntry } from './journal-line.ts';
import { linesBackward, linesOf, listSegments, newestOf, type Segment, type Segments } from './journal-files.ts';
import type { Stamped } from './journal-memory.ts';

/** Which file a handle has open. */
export interface FileIdentity {
  dev: number;
  ino: number;
}

export const identityOf = (info: { dev: number; ino: number }): FileIdentity => ({ dev: info.dev, ino: info.ino });

/** The problem of a journal whose appends fail (read-only, immutable, disk full, I/O error). */
export const UNWRITABLE = 'cannot be written';

/** Someone else wrote into the journal's own file (a copy over it, a truncation): its bytes are no longer only ours. */
export const CHANGED = 'was changed by another process';

/** Whether what stands at the journal's place is someone else's, to be kept beside rather than replaced. */
export const isForeign = (problem: string) => problem.startsWith('was replaced') || problem.startsWith('was changed');

/** What is wrong with the journal at `path`, for the one who holds `identity` and wrote `size` bytes: null when nothing is. */
export async function inspect(path: string, identity: FileIdentity, size: number): Promise<string | null> {
  let info;
  try {
    info = await stat(path);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return 'was deleted';
    throw error;
  }
  if (info.isDirectory()) return 'was replaced by a directory';
  if (!info.isFile()) return 'was replaced by something that is not a file';
  if (info.dev !== identity.dev || info.ino !== identity.ino) return 'was replaced by another file';
  if (info.size !== size) return CHANGED;
  return null;
}

/** Whether the journal at `path` may be written at all (read-only, immutable): cheap, before trying harder. */
export const writable = (path: string) => access(path, constants.W_OK).then(() => true, (error: NodeJS.ErrnoException) => error.code === 'ENOENT');

/**
 * The bytes this process wrote, from its own handle: still readable after the file was deleted or
 * renamed away, and nobody else writes into a file that has no name. A check that they end with its
 * newest entry guards against the rest (null: memory alone must do).
 */
export async function ownBytes(handle: FileHandle, size: number, newestRevision: number | null): Promise<Buffer | null> {
  if (size === 0) return Buffer.alloc(0);
  if ((await handle.stat()).size < size) return null;
  const last = await newestOf(linesOf(handle, size));
  if (!last || last.entry.revision !== newestRevision) return null;
  const bytes = Buffer.alloc(size);
  await handle.read(bytes, 0, size, 0);
  return bytes;
}

/** The revision of the first whole entry in `bytes` (the oldest this file holds). */
export function firstRevision(bytes: Buffer): number | null {
  const end = bytes.indexOf(10);
  return end < 0 ? null : (decodeLine(bytes.toString('utf8', 0, end))?.entry.revision ?? null);
}

/**
 * What memory must add in front of the file's own bytes: the remembered entries no surviving segment
 * holds (a segment deleted by hand took its entries with it) and the file does not either (below
 * `ceiling`), in order.
 */
export function fromMemory(remembered: readonly Stamped[], inSegments: (revision: number) => boolean, ceiling: number): string {
  const seen = new Set<number>();
  return remembered
    .filter(({ entry }) => entry.revision < ceiling && !inSegments(entry.revision) && !seen.has(entry.revision) && seen.add(entry.revision))
    .sort((a, b) => a.entry.revision - b.entry.revision)
    .map(({ entry, stamp }) => encodeEntry(entry, stamp))
    .join('');
}

/** The oldest and newest revision a segment holds (its first and last whole entries), or null when it holds none. */
async function revisionsIn(path: string): Promise<{ first: number; last: number } | null> {
  const last = (await newestOf(linesBackward(path)))?.entry.revision;
  if (last === undefined) return null;
  const handle = await open(path, 'r').catch(() => null);
  if (!handle) return null;
  try {
    const head = Buffer.alloc(64 * 1024);
    const { bytesRead } = await handle.read(head, 0, head.length, 0);
    return { first: firstRevision(head.subarray(0, bytesRead)) ?? last, last };
  } finally {
    await handle.close();
  }
}

/** A rotated segment this journal knew that is gone, or no longer a file: its entries went with it. */
export async function lostSegment(known: readonly Segment[]): Promise<string | null> {
  for (const segment of known) {
    const info = await stat(segment.path).catch(() => null);
    if (!info?.isFile()) return `lost its segment ${basename(segment.path)}`;
  }
  return null;
}

/** `<path>.displaced-<UTC timestamp>`: where something found in the journal's place is kept. */
export async function moveAside(path: string): Promise<string> {
  const aside = `${path}.displaced-${new Date().toISOString().replace(/[-:]/g, '')}`;
  await rename(path, aside);
  return aside;
}

/** Puts `content` at `path` atomically and durably (temp file, fsync, rename, folder fsync); returns it open for appending. */
export async function writeWhole(dir: string, path: string, content: Buffer): Promise<FileHandle> {
  // Not `<journal>.<digits>`: that would be a segment.
  const temp = `${path}.tmp-${randomBytes(4).toString('hex')}`;
  const handle = await open(temp, 'wx');
  try {
    await handle.writeFile(content);
    await handle.sync();
    await handle.close();
    await rename(temp, path);
  } catch (error) {
    await handle.close().catch(() => {});
    await unlink(temp).catch(() => {});
    throw error;
  }
  await fsyncDirectory(dir);
  return open(path, 'a+');
}

/**
 * Before opening: temp files of an interrupted re-creation go, and whatever is not a file in the
 * journal's place (a directory) is kept beside; returns where it went. The keys such a journal held
 * are lost to this start — but a start refused would not bring them back either, and the files and
 * rotated segments still hold the balance and the older keys (see README).
 */
export async function clearThePlace(dir: string, path: string): Promise<string | null> {
  const temps = (await readdir(dir)).filter((name) => name.startsWith(`${basename(path)}.tmp-`));
  await Promise.all(temps.map((name) => unlink(join(dir, name)).catch(() => {})));
  const found = await stat(path).catch(() => null);
  return found && !found.isFile() ? moveAside(path) : null;
}

/**
 * The content of a journal put back in its place: the bytes this process wrote, preceded by what
 * memory holds that no surviving segment does (every entry with a key inside the window, and the newest).
 */
export async function rebuild(
  dir: string,
  problem: string,
  own: { handle: FileHandle; size: number; newest: number | null },
  remembered: readonly Stamped[],
): Promise<{ content: Buffer; fromMemory: number; keptOwn: boolean; segments: Segments }> {
  // Bytes someone else wrote into the journal's own file cannot be told from ours: memory alone then.
  const bytes = problem === CHANGED ? null : await ownBytes(own.handle, own.size, own.newest);
  const segments = await listSegments(dir);
  const held = await Promise.all(segments.files.map((segment) => revisionsIn(segment.path)));
  const memory = fromMemory(remembered, (revision) => held.some((range) => range !== null && revision >= range.first && revision <= range.last), bytes ? (firstRevision(bytes) ?? Infinity) : Infinity);
  const content = Buffer.concat([Buffer.from(memory), bytes ?? Buffer.alloc(0)]);
  return { content, fromMemory: memory.split('\n').length - 1, keptOwn: bytes !== null, segments };
}
