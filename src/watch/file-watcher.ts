// Follows edits other processes make to the two files, and hands each to the service's commit path.

import { join, resolve } from 'node:path';
import { watch } from 'chokidar';
import type { BalanceService } from '../domain/balance-service.ts';

export interface FileWatcher {
  close(): Promise<void>;
}

/**
 * The guarantee under the events. chokidar drops a `change` that follows another within 50 ms on
 * the same path, and a watch on a path can lose a file that is replaced by rename while it
 * re-attaches; a look at both fingerprints (two stats, outside the commit path) costs next to nothing.
 */
const POLL_MS = 100;

export function watchFiles(dir: string, names: readonly string[], service: BalanceService, onError: (error: unknown) => void): FileWatcher {
  const sync = () => void service.syncIfChanged().catch(onError);

  // The two paths, not the folder: every save renames temp files and appends to the journal there,
  // and a folder watch would spend the event loop on those (measured: +2 ms on each save).
  const watcher = watch(
    names.map((name) => join(resolve(dir), name)),
    {
      ignoreInitial: true,
      // A legacy writer truncates then writes: report a change once its size holds still.
      awaitWriteFinish: { stabilityThreshold: 40, pollInterval: 10 },
    },
  );
  watcher.on('all', sync);
  watcher.on('error', onError);
  const poll = setInterval(sync, POLL_MS);

  return {
    async close() {
      clearInterval(poll);
      await watcher.close();
    },
  };
}
