#!/usr/bin/env node
// The process and the `balance-sync` command: reads the command line and the environment, starts the
// service, handles signals, and owns the exit code.

import { resolve } from 'node:path';
import { flagOf, parseCommandLine } from './cli/arguments.ts';
import { helpText } from './cli/help.ts';
import { packageVersion } from './cli/package-info.ts';
import { isLoopback, loadConfig } from './config.ts';
import { formatAmount } from './domain/amount.ts';
import type { WriteStep } from './domain/balance-service.ts';
import { StartupRefusedError } from './domain/startup-refused.ts';
import { createLogger } from './logger.ts';
import { DataDirInUseError } from './store/data-dir-lock.ts';
import { start } from './start.ts';

const SHUTDOWN_DEADLINE_MS = 4_500;

/** Says something and ends the process (the only place besides a signal and a failed start that exits). */
function exitWith(code: number, text: string): never {
  (code === 0 ? process.stdout : process.stderr).write(text);
  process.exit(code);
}

const command = parseCommandLine(process.argv.slice(2), process.env);
if (command.command === 'usage-error') exitWith(2, `balance-sync: ${command.message} (see balance-sync --help)\n`);
if (command.command === 'version') exitWith(0, `${packageVersion()}\n`);
if (command.command === 'help') {
  const defaults = loadConfig({});
  exitWith(0, helpText(defaults.ok ? { ...defaults.config, INITIAL_BALANCE: formatAmount(defaults.config.INITIAL_BALANCE) } : {}));
}

const loaded = loadConfig(command.env);
if (!loaded.ok) {
  // A bad flag is bad usage (2); a bad variable is a configuration that cannot start (1).
  const flag = command.fromFlags.has(loaded.variable) ? flagOf(loaded.variable) : undefined;
  exitWith(flag ? 2 : 1, flag ? `balance-sync: invalid --${flag}: ${loaded.problem}\n` : `${loaded.message}\n`);
}
const config = loaded.config;
if (command.command === 'doctor') {
  // (Loaded for the doctor only: it reads the database with its own driver.)
  const { doctor } = await import('./cli/doctor.ts');
  const { text, code } = await doctor(config);
  process.stdout.write(text);
  process.exit(code);
}
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
const afterStep = hooks.length === 0 ? undefined : async (step: WriteStep) => {
  for (const hook of hooks) await hook(step);
};

/** Set once start() has returned; until then a lost lock is remembered and acted on right after. */
let stopWith: ((code: number, why: string) => void) | null = null;
let lostBeforeRunning: string | null = null;
const lockLost = (message: string) => {
  logger.fatal({ dataDir: resolve(config.DATA_DIR) }, message);
  process.stderr.write(`balance-sync: ${message}\n`);
  if (stopWith) stopWith(1, 'lock lost');
  else lostBeforeRunning = message;
};

try {
  const running = await start(config, logger, afterStep, lockLost);
  logger.info(
    { port: running.port, host: config.HOST, dataDir: resolve(config.DATA_DIR) },
    `balance-sync listening on http://${config.HOST}:${running.port}`,
  );

  let stopping = false;
  stopWith = (code, why) => {
    if (stopping) return;
    stopping = true;
    logger.info({ why }, 'shutting down');
    const deadline = setTimeout(() => {
      logger.warn('shutdown deadline reached; closing remaining connections');
      running.server.closeAllConnections();
    }, SHUTDOWN_DEADLINE_MS);
    deadline.unref();
    running.stop().then(
      () => {
        logger.info('stopped');
        process.exit(code);
      },
      (error: unknown) => {
        logger.error({ err: error }, 'shutdown failed');
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', () => stopWith?.(0, 'SIGTERM'));
  process.on('SIGINT', () => stopWith?.(0, 'SIGINT'));
  if (lostBeforeRunning !== null) stopWith(1, 'lock lost');
} catch (error) {
  if (error instanceof StartupRefusedError || error instanceof DataDirInUseError) {
    logger.fatal({ dataDir: resolve(config.DATA_DIR) }, error.message);
    process.stderr.write(`balance-sync: ${error.message}\n`);
  } else if ((error as NodeJS.ErrnoException).code === 'EADDRINUSE') {
    logger.fatal(`port ${config.PORT} on ${config.HOST} is already in use; set PORT to another one`);
    process.stderr.write(`balance-sync: port ${config.PORT} on ${config.HOST} is already in use; set PORT to another one\n`);
  } else {
    // Anything else (a data file the disk will not let us write, say): one line that says what and where.
    logger.fatal({ err: error }, 'failed to start');
    process.stderr.write(`balance-sync: failed to start: ${(error as Error).message ?? String(error)}\n`);
  }
  process.exit(1);
}
