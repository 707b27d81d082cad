// Follows edits other processes make to the two files, and hands each to the service's commit path.

import { basename, resolve } from 'node:path';
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
  const root = resolve(dir);
  const watched = new Set(names);
  const sync = () => void service.sync().catch(onError);

  const watcher = watch(root, {
    depth: 0,
    ignoreInitial: true,
    // Only the two files: temp files, quarantined copies, the journal and the lock are ignored.
    ignored: (path) => resolve(path) !== root && !watched.has(basename(path)),
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
