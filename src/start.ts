// Opens everything the service needs on one data folder, in order, and closes it again.

import { mkdir } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import { join } from 'node:path';
import type { Logger } from 'pino';
import { createApp } from './app.ts';
import type { Config } from './config.ts';
import { BalanceService, type WriteStep } from './domain/balance-service.ts';
import { IDEMPOTENCY_WINDOW_MS } from './domain/idempotency.ts';
import { BalanceFile, balanceFileShape, tradingStateShape } from './store/balance-file.ts';
import { lockDataDir } from './store/data-dir-lock.ts';
import { openFolder } from './store/durable-write.ts';
import { PostgresUnavailableError } from './store/postgres/errors.ts';
import { PostgresStore } from './store/postgres/postgres-store.ts';
import { Journal } from './store/journal.ts';
import { removeOrphanedTempFiles } from './store/orphaned-temp-files.ts';
import { Metrics } from './metrics/metrics.ts';
import { watchFiles } from './watch/file-watcher.ts';

export interface Running {
  server: Server;
  port: number;
  /** Stops accepting, finishes in-flight writes, closes streams and watchers, releases the lock. */
  stop(): Promise<void>;
}

/**
 * `onLockLost`: the folder's lock stopped being this process's while it ran (a lock file deleted or
 * edited by hand, and another process started on the folder); the caller stops the service.
 */
export async function start(
  config: Config,
  logger: Logger,
  afterStep?: (step: WriteStep) => void | Promise<void>,
  onLockLost: (message: string) => void = () => {},
): Promise<Running> {
  const dir = config.DATA_DIR;
  await mkdir(dir, { recursive: true });
  const release = await lockDataDir(dir, (taker) =>
    onLockLost(`the lock of the data folder ${dir} is no longer this process's${taker ? ` (pid ${taker.pid} on ${taker.host} holds it now)` : ' (its lock file was removed or changed by hand)'}: stopping, so that two processes never serve one folder`),
    (file) => logger.warn({ file }, 'the lock file was edited by hand: serving on, as every other starter refuses it; restore it by restarting this service'),
  );
  const closers: (() => Promise<void> | void)[] = [release];
  const closeAll = async () => {
    for (const close of closers.reverse()) await close();
  };

  const names = [config.BALANCE_FILE, config.TRADING_STATE_FILE];
  try {
    const orphans = await removeOrphanedTempFiles(dir, names);
    if (orphans.length > 0) logger.info({ files: orphans }, 'removed temp files left by an interrupted write');

    const folder = await openFolder(dir);
    closers.push(() => folder.close());

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

    const balance = new BalanceService({
      stores: [new BalanceFile(join(dir, config.BALANCE_FILE), balanceFileShape), new BalanceFile(join(dir, config.TRADING_STATE_FILE), tradingStateShape)],
      journal,
      ...(shared && { shared, localHistory: async () => (await journal.recent(Number.MAX_SAFE_INTEGER)).reverse() }),
      syncFolder: () => folder.sync(),
      initialBalance: config.INITIAL_BALANCE,
      log: logger,
      ...(afterStep && { afterStep }),
    });
    const metrics = new Metrics();
    metrics.watch(balance);
    await balance.open();
    closers.push(() => balance.close());

    const watcher = watchFiles(dir, names, balance, (error) =>
      logger.error({ err: error }, 'following outside edits failed; will retry'),
    );
    closers.push(() => watcher.close());

    const { app, upgrade, clientError, connect, close: closeApp } = createApp({ balance, history: shared ?? journal, logger, metrics, config });
    const server = createServer(app);
    server.on('clientError', clientError);
    server.on('connect', (_req, socket) => connect(socket));
    // Only when forwarding: with an `upgrade` listener, Node hands every Upgrade request to it.
    if (config.UPSTREAM_URL) server.on('upgrade', upgrade);
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(config.PORT, config.HOST, () => {
        server.off('error', reject);
        resolve();
      });
    });
    const address = server.address();
    const port = typeof address === 'object' && address ? address.port : config.PORT;

    return {
      server,
      port,
      async stop() {
        const closed = new Promise<void>((resolve) => server.close(() => resolve()));
        closeApp();
        await balance.close();
        server.closeIdleConnections();
        await closed;
        await closeAll();
      },
    };
  } catch (error) {
    await closeAll();
    throw error;
  }
}

/** The shared truth, waited for: a host that joins takes the database's balance before it serves anything. */
async function openSharedTruth(url: string, config: Config, logger: Logger): Promise<PostgresStore> {
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
