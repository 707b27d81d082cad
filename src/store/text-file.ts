// Reading a whole file together with the identity of the version that was read.

import type { BigIntStats } from 'node:fs';
import { open, stat } from 'node:fs/promises';

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

export type TextRead = { text: string; fingerprint: Fingerprint } | null;

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
  let handle;
  try {
    handle = await open(path, 'r');
  } catch (error) {
    if (isMissing(error)) return null;
    throw error;
  }
  try {
    const fingerprint = toFingerprint(await handle.stat({ bigint: true }));
    const text = await handle.readFile({ encoding: 'utf8' });
    return { text, fingerprint };
  } finally {
    await handle.close();
  }
}

export async function fingerprintOf(path: string): Promise<Fingerprint | null> {
  try {
    return toFingerprint(await stat(path, { bigint: true }));
  } catch (error) {
    if (isMissing(error)) return null;
    throw error;
  }
}
