// Follows edits other processes make to the two files, and hands each to the service's commit path.

import { join, resolve } from 'node:path';
import { watch } from 'chokidar';
import type { BalanceService } from '../domain/balance-service.ts';

export interface FileWatcher {
  close(): Promise<void>;
}

/** After an own write, chokidar's 50 ms per-path throttle can swallow a quick outside write: look again. */
const RECHECK_AFTER_OWN_WRITE_MS = 80;
/** A safety net under the events: two stats, so it costs next to nothing. */
const POLL_MS = 1_000;

export function watchFiles(dir: string, names: readonly string[], service: BalanceService, onError: (error: unknown) => void): FileWatcher {
  const sync = () => void service.syncIfChanged().catch(onError);

  // The two paths, not the folder: every save renames temp files and appends to the journal there,
  // and a folder watch would spend the event loop on those (measured: +2 ms on each save).
  const watcher = watch(names.map((name) => join(resolve(dir), name)), {
    ignoreInitial: true,
    // A legacy writer truncates then writes: report a change once its size holds still.
    awaitWriteFinish: { stabilityThreshold: 40, pollInterval: 10 },
  });
  watcher.on('all', sync);
  watcher.on('error', onError);

  const rechecks = new Set<NodeJS.Timeout>();
  const afterOwnWrite = () => {
    const timer = setTimeout(() => {
      rechecks.delete(timer);
      sync();
    }, RECHECK_AFTER_OWN_WRITE_MS);
    rechecks.add(timer);
  };
  service.on('written', afterOwnWrite);
  const poll = setInterval(sync, POLL_MS);

  return {
    async close() {
      clearInterval(poll);
      service.off('written', afterOwnWrite);
      for (const timer of rechecks) clearTimeout(timer);
      await watcher.close();
    },
  };
}
