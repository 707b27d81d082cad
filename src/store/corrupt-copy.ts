// Keeping the bytes of a file before the service overwrites it: `<file>.corrupt-<UTC timestamp>`,
// always inside the data folder, and never by moving the file itself.

import { link, open } from 'node:fs/promises';
import { join } from 'node:path';
import { fsyncDirectory } from './durable-write.ts';
import { kindOfSpecial, openWithoutWaiting } from './text-file.ts';

const stamp = () => new Date().toISOString().replace(/[-:]/g, '');

/**
 * A hard link where it can be: the copy is then the file's own inode, so a stalled writer that goes
 * on writing into it is seen in the copy too, and nothing is copied. A file another device holds (a
 * symlinked data file), or that may not be linked, has its bytes written instead. Nothing outside
 * `dir` is renamed, moved or deleted either way. Durable once the folder is synced (done here).
 */
export async function keepCorruptCopy(dir: string, name: string, source: { path: string } | { bytes: Buffer }): Promise<string> {
  for (let n = 0; ; n++) {
    const copy = `${name}.corrupt-${stamp()}${n > 0 ? `-${n}` : ''}`;
    try {
      if ('path' in source) {
        try {
          await link(source.path, join(dir, copy));
        } catch (error) {
          if (!['EXDEV', 'EPERM', 'EMLINK', 'ENOTSUP', 'EOPNOTSUPP'].includes((error as NodeJS.ErrnoException).code ?? '')) throw error;
          await writeNew(join(dir, copy), await bytesOf(source.path));
        }
      } else {
        await writeNew(join(dir, copy), source.bytes);
      }
      await fsyncDirectory(dir);
      return copy;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    }
  }
}

/** A regular file's bytes; a FIFO or a device (a symlink to /dev/zero) has none worth keeping, and is never read. */
async function bytesOf(path: string): Promise<Buffer> {
  const handle = await openWithoutWaiting(path);
  if (!handle) return Buffer.alloc(0);
  try {
    const info = await handle.stat();
    return kindOfSpecial(info) ? Buffer.from(`(not a regular file: ${kindOfSpecial(info)})\n`) : await handle.readFile();
  } finally {
    await handle.close();
  }
}

async function writeNew(path: string, bytes: Buffer): Promise<void> {
  const handle = await open(path, 'wx');
  try {
    await handle.writeFile(bytes);
    await handle.sync();
  } finally {
    await handle.close();
  }
}
