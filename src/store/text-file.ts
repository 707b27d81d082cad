// Reading a whole file together with the identity of the version that was read.

import type { BigIntStats } from 'node:fs';
import { open, stat } from 'node:fs/promises';

/** What distinguishes one version of a file from the next without reading it, and who owns it. */
export interface Fingerprint {
  ino: bigint;
  size: bigint;
  mtimeNs: bigint;
  ctimeNs: bigint;
  /** Not part of the identity: what the next version keeps. */
  mode: number;
  uid: number;
  gid: number;
}

export const sameFingerprint = (a: Fingerprint | null, b: Fingerprint | null): boolean =>
  a === b || (a !== null && b !== null && a.ino === b.ino && a.size === b.size && a.mtimeNs === b.mtimeNs && a.ctimeNs === b.ctimeNs);

export const mtimeMsOf = (fingerprint: Fingerprint): number => Number(fingerprint.mtimeNs) / 1e6;

export type TextRead = { text: string; fingerprint: Fingerprint } | null;

export const toFingerprint = ({ ino, size, mtimeNs, ctimeNs, mode, uid, gid }: BigIntStats): Fingerprint => ({
  ino,
  size,
  mtimeNs,
  ctimeNs,
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
