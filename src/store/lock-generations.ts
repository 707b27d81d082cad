// The numbered lock files of a data folder, `.balance-sync.lock.<n>`: each created whole or not at
// all, never rewritten; the highest number says who holds the folder (see data-dir-lock.ts).

import { constants } from 'node:fs';
import { link, open, readdir, rm, unlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { LEGACY_LOCK_NAME } from './legacy-lock.ts';
import type { ProcessIdentity } from './process-identity.ts';

export const LOCK_PREFIX = '.balance-sync.lock.';
const GENERATION = /^\.balance-sync\.lock\.(\d+)$/;
const TEMP = /^\.balance-sync\.lock\.tmp-/;

export interface LockRecord extends ProcessIdentity {
  state: 'held' | 'released';
  /** When the generation was created (for people: never used to judge). */
  at: string;
}

export interface Newest {
  number: number | null;
  record: LockRecord | null;
  /** `garbage`: not a record we write (someone's hand); `missing`: gone between the listing and the read. */
  unreadable?: 'garbage' | 'missing';
}

export async function newestGeneration(dir: string): Promise<Newest> {
  const numbers = (await readdir(dir)).flatMap((name) => {
    const match = GENERATION.exec(name);
    return match ? [Number(match[1])] : [];
  });
  if (numbers.length === 0) return { number: null, record: null };
  const number = Math.max(...numbers);
  const text = await readRecordText(join(dir, LOCK_PREFIX + number));
  if (text === null) return { number, record: null, unreadable: 'missing' };
  // Empty: created by an exclusive create (no hard links here) whose record is on its way.
  if (text === '') return { number, record: null, unreadable: 'missing' };
  const parsed = text === false ? null : parseRecord(text);
  return parsed ? { number, record: parsed } : { number, record: null, unreadable: 'garbage' };
}

/**
 * A lock file's text: null when it is gone, false when it is not a small regular file. Opened without
 * blocking and looked at before it is read: a FIFO in its place would otherwise hold start-up for
 * ever, and /dev/zero fill the memory.
 */
async function readRecordText(path: string): Promise<string | null | false> {
  let handle;
  try {
    handle = await open(path, constants.O_RDONLY | constants.O_NONBLOCK);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return null;
    if (code === 'EISDIR' || code === 'ENXIO') return false;
    throw error;
  }
  try {
    const info = await handle.stat();
    if (!info.isFile() || info.size > MAX_RECORD_BYTES) return false;
    return await handle.readFile('utf8');
  } finally {
    await handle.close();
  }
}

const MAX_RECORD_BYTES = 64 * 1024;

function parseRecord(text: string): LockRecord | null {
  try {
    const value = JSON.parse(text) as Partial<LockRecord>;
    return Number.isSafeInteger(value.pid) && (value.state === 'held' || value.state === 'released') ? ({ startTicks: null, bootId: null, host: '?', pidNamespace: null, at: '?', ...value } as LockRecord) : null;
  } catch {
    return null;
  }
}

/**
 * Creates `.balance-sync.lock.<generation>` holding `content`, whole or not at all: false when the
 * name exists. A hard link cannot overwrite, and readers never see the record half-written.
 */
export async function createWhole(dir: string, generation: number, content: LockRecord): Promise<boolean> {
  const temp = join(dir, `${LOCK_PREFIX}tmp-${content.pid}-${Math.random().toString(36).slice(2)}`);
  try {
    // Inside the try: a write that fails half-way (disk full) leaves no temp file behind.
    await writeFile(temp, `${JSON.stringify(content)}\n`, { flag: 'wx' });
    await link(temp, join(dir, LOCK_PREFIX + generation));
    return true;
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'EEXIST' || code === 'ENOENT') return false; // ENOENT: a winner cleaned our temp up
    if (code !== 'EPERM' && code !== 'ENOTSUP' && code !== 'ENOSYS') throw error;
    return createExclusively(join(dir, LOCK_PREFIX + generation), content); // no hard links on this file system
  } finally {
    await unlink(temp).catch(() => {});
  }
}

/** Without hard links: an exclusive create, then the record (a reader may briefly see it empty, and looks again). */
async function createExclusively(path: string, content: LockRecord): Promise<boolean> {
  let handle;
  try {
    handle = await open(path, 'wx');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw error;
  }
  try {
    await handle.writeFile(`${JSON.stringify(content)}\n`);
  } finally {
    await handle.close();
  }
  return true;
}

/** Generations below ours, temp files of starters that lost, and a dead earlier version's lock directory. */
export async function removeOlder(dir: string, generation: number): Promise<void> {
  const names = await readdir(dir);
  const older = names.filter((name) => TEMP.test(name) || Number(GENERATION.exec(name)?.[1] ?? generation) < generation);
  await Promise.all(older.map((name) => unlink(join(dir, name)).catch(() => {})));
  if (names.includes(LEGACY_LOCK_NAME)) await rm(join(dir, LEGACY_LOCK_NAME), { recursive: true, force: true });
}


/** Removes one generation (a release, or a creation that came too late). */
export const removeGeneration = (dir: string, generation: number) => unlink(join(dir, LOCK_PREFIX + generation)).catch(() => {});
