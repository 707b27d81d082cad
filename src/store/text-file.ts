// Reading a whole file together with the identity of the version that was read.

import type { BigIntStats } from 'node:fs';
import { constants, statSync } from 'node:fs';
import { open, stat, type FileHandle } from 'node:fs/promises';

/**
 * What distinguishes one version of a file from the next without reading it — its inode, size and
 * modification time: a write changes the time (a rename over it changes the inode) — and who owns it.
 * Not the change time: a rename changes it too, and leaving it out lets a save know the fingerprint
 * of its new version before putting it in place.
 */
export interface Fingerprint {
  ino: bigint;
  size: bigint;
  mtimeNs: bigint;
  /** Not part of the identity: what the next version keeps. */
  mode: number;
  uid: number;
  gid: number;
}

export const sameFingerprint = (a: Fingerprint | null, b: Fingerprint | null): boolean =>
  a === b || (a !== null && b !== null && a.ino === b.ino && a.size === b.size && a.mtimeNs === b.mtimeNs);

export const sameOwnership = (a: Fingerprint, b: Fingerprint): boolean => a.mode === b.mode && a.uid === b.uid && a.gid === b.gid;

export const mtimeMsOf = (fingerprint: Fingerprint): number => Number(fingerprint.mtimeNs) / 1e6;

/** `special`: the name is not a regular file (a FIFO, a device): there is no text to read, and it is not tried. */
export type TextRead = { text: string; fingerprint: Fingerprint; special?: string } | null;

export const toFingerprint = ({ ino, size, mtimeNs, mode, uid, gid }: BigIntStats): Fingerprint => ({
  ino,
  size,
  mtimeNs,
  mode: Number(mode),
  uid: Number(uid),
  gid: Number(gid),
});

const isMissing = (error: unknown) => (error as NodeJS.ErrnoException).code === 'ENOENT';

/** The file's text and the fingerprint of that same version, or null when it does not exist. */
export async function readText(path: string): Promise<TextRead> {
  const handle = await openWithoutWaiting(path);
  if (!handle) return null;
  try {
    const info = await handle.stat({ bigint: true });
    const fingerprint = toFingerprint(info);
    const special = kindOfSpecial(info);
    if (special) return { text: '', fingerprint, special };
    const text = await handle.readFile({ encoding: 'utf8' });
    return { text, fingerprint };
  } finally {
    await handle.close();
  }
}

/**
 * Opens a data file for reading without ever blocking: a FIFO put in its place would hold an ordinary
 * open (and the service's whole write path) until some writer came, and a device would be read for
 * ever. Non-blocking makes no difference to a regular file. Null when there is nothing at `path`.
 */
export async function openWithoutWaiting(path: string): Promise<FileHandle | null> {
  try {
    return await open(path, constants.O_RDONLY | constants.O_NONBLOCK);
  } catch (error) {
    if (isMissing(error)) return null;
    throw error;
  }
}

/** What a name that is not a regular file or a directory is, in a word (null for those two). */
export function kindOfSpecial(info: { isFile(): boolean; isDirectory(): boolean; isFIFO(): boolean; isSocket(): boolean }): string | null {
  if (info.isFile() || info.isDirectory()) return null;
  return info.isFIFO() ? 'a FIFO' : info.isSocket() ? 'a socket' : 'a device';
}

export async function fingerprintOf(path: string): Promise<Fingerprint | null> {
  try {
    return toFingerprint(await stat(path, { bigint: true }));
  } catch (error) {
    if (isMissing(error)) return null;
    throw error;
  }
}

/** fingerprintOf(), synchronously: for the check right before a rename, which nothing may come between. */
export function fingerprintNow(path: string): Fingerprint | null {
  const info = statSync(path, { bigint: true, throwIfNoEntry: false });
  return info ? toFingerprint(info) : null;
}
