// Follows edits other processes make to the two files, and hands each to the service's commit path.

import { watch } from 'node:fs';
import type { BalanceService } from '../domain/balance-service.ts';

export interface FileWatcher {
  close(): Promise<void>;
}

/**
 * The guarantee under the events: an event can be missed (a file replaced while the folder is being
 * read, a platform that coalesces), and a look at both fingerprints (two stats, outside the commit
 * path) costs next to nothing.
 */
const POLL_MS = 100;
/** A save renames both files, and a legacy writer writes in bursts: one look for a burst of events. */
const SETTLE_EVENTS_MS = 10;

/**
 * Node's own watch of the folder, narrowed to the two names, plus the poll. chokidar, which did this
 * before, re-attached its watch of a file each time a save renamed a new version over it: measured,
 * a third of a millisecond on every save, for no earlier notice than this.
 */
export function watchFiles(dir: string, names: readonly string[], service: BalanceService, onError: (error: unknown) => void): FileWatcher {
  // One look at a time: a save renames both files, and a burst of events needs one look, not one each.
  let looking = false;
  let again = false;
  const look = (): void => {
    if (looking) {
      again = true;
      return;
    }
    looking = true;
    service
      .syncIfChanged()
      .catch(onError)
      .finally(() => {
        looking = false;
        if (again) {
          again = false;
          look();
        }
      });
  };

  let pending: NodeJS.Timeout | null = null;
  const soon = () => {
    pending ??= setTimeout(() => {
      pending = null;
      look();
    }, SETTLE_EVENTS_MS);
  };

  const watcher = watch(dir, { persistent: false }, (_event, name) => {
    if (name === null || names.includes(name)) soon();
  });
  watcher.on('error', onError);
  const poll = setInterval(look, POLL_MS);
  poll.unref();

  return {
    async close() {
      clearInterval(poll);
      if (pending) clearTimeout(pending);
      watcher.close();
    },
  };
}
