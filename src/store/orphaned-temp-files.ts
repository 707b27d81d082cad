// Temp files an interrupted write (kill -9) left beside the data files: removed at start-up.

import { readdir, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { isTempFileOf } from './durable-write.ts';

/** Removes temp files that an interrupted write left beside `names`; returns their names. */
export async function removeOrphanedTempFiles(dir: string, names: readonly string[]): Promise<string[]> {
  const orphans = (await readdir(dir)).filter((entry) => names.some((name) => isTempFileOf(name, entry)));
  await Promise.all(orphans.map((entry) => unlink(join(dir, entry)).catch(() => {})));
  return orphans;
}
