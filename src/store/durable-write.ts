// The one way any file of the service reaches the disk: atomic replace, then fsync of the folder.

import { open } from 'node:fs/promises';
import { dirname } from 'node:path';
import writeFileAtomic from 'write-file-atomic';

/** Leftover temp files of an interrupted write: write-file-atomic names them `<file>.<digits>`. */
export const isTempFileOf = (fileName: string, candidate: string): boolean =>
  candidate.startsWith(`${fileName}.`) && /^\d+$/.test(candidate.slice(fileName.length + 1));

export async function writeDurably(path: string, data: string): Promise<void> {
  // A fresh options object every call: write-file-atomic mutates the one it is given.
  await writeFileAtomic(path, data, { fsync: true });
  await fsyncDirectory(dirname(path));
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
