// Opens everything the service needs on one data folder, in order, and closes it again.

import { mkdir } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { Logger } from 'pino';
import { assemble } from './assemble.ts';
import type { Config } from './config.ts';
import type { WriteStep } from './domain/balance-service.ts';
import { lockDataDir } from './store/data-dir-lock.ts';
import { openFolder } from './store/durable-write.ts';
import { removeOrphanedTempFiles } from './store/orphaned-temp-files.ts';

export interface Running {
  server: Server;
  port: number;
  /** Stops accepting, finishes in-flight writes, closes streams and watchers, releases the lock. */
  stop(): Promise<void>;
}

/**
 * `onLockLost`: the folder's lock stopped being this process's while it ran (its lock file deleted by
 * hand, or another process started on the folder); the caller stops the service.
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

    const service = await assemble(config, {
      logger,
      syncFolder: () => folder.sync(),
      onWatchError: (error) => logger.error({ err: error }, 'following outside edits failed; will retry'),
      ...(afterStep && { service: { afterStep } }),
    });
    closers.push(() => service.close());

    const { app, upgrade, clientError, connect } = service.listeners;
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
        await service.stopServing();
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
