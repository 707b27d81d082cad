// Puts the service together on a data folder — journal, shared truth, stores, service, metrics, watcher,
// app — the one way start.ts and the tests both use, so that what is tested is what runs.

import { join } from 'node:path';
import type { Logger } from 'pino';
import { createApp, type App } from './app.ts';
import type { Config } from './config.ts';
import { BalanceService, type BalanceServiceOptions } from './domain/balance-service.ts';
import { IDEMPOTENCY_WINDOW_MS } from './domain/idempotency.ts';
import type { BalanceStore } from './domain/ports.ts';
import { Metrics } from './metrics/metrics.ts';
import { BalanceFile, balanceFileShape, tradingStateShape } from './store/balance-file.ts';
import { Journal } from './store/journal.ts';
import { PostgresUnavailableError } from './store/postgres/errors.ts';
import type { PostgresStore } from './store/postgres/postgres-store.ts';
import { watchFiles } from './watch/file-watcher.ts';

export interface AssembleOptions {
  logger: Logger;
  /** Makes every rename in the data folder durable (start.ts holds the folder open for it). */
  syncFolder: () => Promise<void>;
  /** Follows outside edits as they happen (the folder's watch and the poll); without it, only sync() looks. */
  onWatchError?: (error: unknown) => void;
  /** Wraps the real stores: faults the disk cannot produce on demand (tests). */
  wrapStores?: (stores: BalanceStore[]) => BalanceStore[];
  /** The write path's hooks (the crash and hold hooks, a test's faults), and a test's own timings. */
  service?: Partial<BalanceServiceOptions>;
}

export interface Assembled {
  balance: BalanceService;
  journal: Journal;
  stores: BalanceStore[];
  metrics: Metrics;
  /** The HTTP server's listeners; the server itself is the caller's (it listens, or supertest calls it). */
  listeners: Omit<App, 'close'>;
  /** Ends the event streams and forwarded sockets and lets queued changes finish; later changes are refused (503). */
  stopServing(): Promise<void>;
  /** Closes the rest, last opened first: the watcher, the service, the shared truth, the journal. */
  close(): Promise<void>;
}

/** Opens the service on `config.DATA_DIR`; the folder's lock and its leftovers are the caller's (start.ts). */
export async function assemble(config: Config, options: AssembleOptions): Promise<Assembled> {
  const { logger } = options;
  const dir = config.DATA_DIR;
  const closers: (() => Promise<void> | void)[] = [];
  const close = async () => {
    for (const closer of closers.splice(0).reverse()) await closer();
  };
  try {
    const { journal, trimmed } = await Journal.open(dir, {
      maxBytes: config.JOURNAL_MAX_BYTES,
      keepSegments: config.JOURNAL_SEGMENTS,
      retainMs: IDEMPOTENCY_WINDOW_MS,
      log: logger,
    });
    closers.push(() => journal.close());
    if (trimmed) logger.warn({ file: 'balance_journal.jsonl' }, 'trimmed a torn last line from the journal');

    const shared = config.DATABASE_URL ? await openSharedTruth(config.DATABASE_URL, config, logger) : undefined;
    if (shared) closers.push(() => shared.close());

    const real: BalanceStore[] = [new BalanceFile(join(dir, config.BALANCE_FILE), balanceFileShape), new BalanceFile(join(dir, config.TRADING_STATE_FILE), tradingStateShape)];
    const stores = options.wrapStores?.(real) ?? real;
    const balance = new BalanceService({
      stores,
      journal,
      ...(shared && { shared, localHistory: async () => (await journal.recent(Number.MAX_SAFE_INTEGER)).reverse() }),
      syncFolder: options.syncFolder,
      initialBalance: config.INITIAL_BALANCE,
      log: logger,
      ...options.service,
    });
    // Watching before it opens: start-up's adoptions and quarantines are counted too.
    const metrics = new Metrics();
    metrics.watch(balance);
    await balance.open();
    closers.push(() => balance.close());

    const { onWatchError } = options;
    if (onWatchError) {
      const watcher = watchFiles(dir, [config.BALANCE_FILE, config.TRADING_STATE_FILE], balance, onWatchError);
      closers.push(() => watcher.close());
    }

    const { close: closeApp, ...listeners } = createApp({ balance, history: shared ?? journal, logger, metrics, config });
    return {
      balance,
      journal,
      stores,
      metrics,
      listeners,
      async stopServing() {
        closeApp();
        await balance.close();
      },
      close,
    };
  } catch (error) {
    await close();
    throw error;
  }
}

/** The shared truth, waited for: a host that joins takes the database's balance before it serves anything. */
async function openSharedTruth(url: string, config: Config, logger: Logger): Promise<PostgresStore> {
  // Loaded only with DATABASE_URL: the driver costs a service on files alone ~10 MiB of memory.
  const { PostgresStore } = await import('./store/postgres/postgres-store.ts');
  for (let attempt = 1; ; attempt++) {
    try {
      return await PostgresStore.open({ url, account: config.ACCOUNT, hostId: config.HOST_ID, log: logger, applicationName: `balance-sync ${config.HOST_ID}` });
    } catch (error) {
      if (!(error instanceof PostgresUnavailableError)) throw error;
      if (attempt === 1 || attempt % 15 === 0) logger.warn({ err: error.message, attempt }, 'waiting for the balance database (DATABASE_URL); trying again every 2 s');
      await new Promise((resolve) => setTimeout(resolve, 2_000));
    }
  }
}
