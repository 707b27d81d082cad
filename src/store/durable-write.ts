// The one way any file of the service reaches the disk: atomic replace (temp file, fsync, rename),
// made durable by an fsync of the folder, which one call does for every rename before it.

import { open } from 'node:fs/promises';
import writeFileAtomic from 'write-file-atomic';

/** Leftover temp files of an interrupted write: write-file-atomic names them `<file>.<digits>`. */
export const isTempFileOf = (fileName: string, candidate: string): boolean =>
  candidate.startsWith(`${fileName}.`) && /^\d+$/.test(candidate.slice(fileName.length + 1));

/** Replaces `path` atomically with its contents fsynced; the rename is durable after fsyncDirectory. */
export async function writeAtomic(path: string, data: string): Promise<void> {
  // A fresh options object every call: write-file-atomic mutates the one it is given.
  await writeFileAtomic(path, data, { fsync: true });
}

/** Makes a rename or a new file in `dir` survive power loss. */
export async function fsyncDirectory(dir: string): Promise<void> {
  const handle = await open(dir, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}
