// The process: reads the environment, starts the service, handles signals, and owns the exit code.

import { resolve } from 'node:path';
import { isLoopback, loadConfig } from './config.ts';
import type { WriteStep } from './domain/balance-service.ts';
import { StartupRefusedError } from './domain/startup-refused.ts';
import { createLogger } from './logger.ts';
import { DataDirInUseError } from './store/data-dir-lock.ts';
import { start } from './start.ts';

const SHUTDOWN_DEADLINE_MS = 4_500;

const loaded = loadConfig(process.env);
if (!loaded.ok) {
  process.stderr.write(`${loaded.message}\n`);
  process.exit(1);
}
const config = loaded.config;
const logger = createLogger(config.LOG_LEVEL, Boolean(process.stdout.isTTY));
if (!isLoopback(config.HOST) && !config.API_TOKEN) {
  logger.warn({ host: config.HOST }, `listening on ${config.HOST} without API_TOKEN: anyone who reaches the port can change the balance; set API_TOKEN`);
}

/** Test hook: crash (SIGKILL) right after the Nth time the write path reaches a step. */
function crashHook(): ((step: WriteStep) => void) | undefined {
  const step = process.env.BALANCE_SYNC_CRASH_AFTER;
  if (!step) return undefined;
  let remaining = Number(process.env.BALANCE_SYNC_CRASH_AFTER_COUNT ?? 1);
  return (reached) => {
    if (reached === step && --remaining <= 0) process.kill(process.pid, 'SIGKILL');
  };
}

/**
 * Test hook: hold the write path right after the first time it reaches a step, until SIGUSR2 — a save
 * held open on purpose, so a test knows one is in flight (it waits for the log line).
 */
function holdHook(): ((step: WriteStep) => Promise<void> | void) | undefined {
  const step = process.env.BALANCE_SYNC_HOLD_AFTER;
  if (!step) return undefined;
  let held = false;
  return (reached) => {
    if (reached !== step || held) return;
    held = true;
    logger.info({ step }, 'holding the save until SIGUSR2 (test hook)');
    return new Promise((resolve) => process.once('SIGUSR2', () => resolve()));
  };
}

const hooks = [crashHook(), holdHook()].filter((hook) => hook !== undefined);

try {
  const running = await start(config, logger, hooks.length === 0 ? undefined : async (step) => {
    for (const hook of hooks) await hook(step);
  });
  logger.info(
    { port: running.port, host: config.HOST, dataDir: resolve(config.DATA_DIR) },
    `balance-sync listening on http://${config.HOST}:${running.port}`,
  );

  let stopping = false;
  const shutdown = (signal: NodeJS.Signals) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'shutting down');
    const deadline = setTimeout(() => {
      logger.warn('shutdown deadline reached; closing remaining connections');
      running.server.closeAllConnections();
    }, SHUTDOWN_DEADLINE_MS);
    deadline.unref();
    running.stop().then(
      () => {
        logger.info('stopped');
        process.exit(0);
      },
      (error: unknown) => {
        logger.error({ err: error }, 'shutdown failed');
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', shutdown);
  process.on('SIGINT', shutdown);
} catch (error) {
  if (error instanceof StartupRefusedError || error instanceof DataDirInUseError) {
    logger.fatal({ dataDir: resolve(config.DATA_DIR) }, error.message);
    process.stderr.write(`balance-sync: ${error.message}\n`);
  } else if ((error as NodeJS.ErrnoException).code === 'EADDRINUSE') {
    logger.fatal(`port ${config.PORT} on ${config.HOST} is already in use; set PORT to another one`);
  } else {
    logger.fatal({ err: error }, 'failed to start');
  }
  process.exit(1);
}
