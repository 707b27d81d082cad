// The real service on a temp folder, without a process: real stores, real journal, a silent logger.

import { join } from 'node:path';
import { pino, type Logger } from 'pino';
import { createApp } from '../../src/app.ts';
import { asAmount } from '../../src/domain/amount.ts';
import { BalanceService, type BalanceServiceOptions } from '../../src/domain/balance-service.ts';
import { IDEMPOTENCY_WINDOW_MS } from '../../src/domain/idempotency.ts';
import type { BalanceStore } from '../../src/domain/ports.ts';
import { BalanceFile, tradingStateShape, balanceFileShape } from '../../src/store/balance-file.ts';
import { fsyncDirectory } from '../../src/store/durable-write.ts';
import { Metrics } from '../../src/metrics/metrics.ts';
import { Journal } from '../../src/store/journal.ts';
import { watchFiles } from '../../src/watch/file-watcher.ts';

export const VB = 'virtual_balance.json';
export const ATS = 'auto_trading_state.json';

export interface TestService {
  balance: BalanceService;
  journal: Journal;
  stores: BalanceStore[];
  app: ReturnType<typeof createApp>['app'];
  upgrade: ReturnType<typeof createApp>['upgrade'];
  clientError: ReturnType<typeof createApp>['clientError'];
  connect: ReturnType<typeof createApp>['connect'];
  metrics: Metrics;
  close(): Promise<void>;
}

export interface TestServiceOptions {
  apiToken?: string;
  corsOrigins?: string[];
  /** HOST: loopback by default, as the service's own default. */
  host?: string;
  initialBalance?: number;
  journalMaxBytes?: number;
  /** The legacy backend to forward unowned routes to. */
  upstreamUrl?: string;
  upstreamTimeoutMs?: number;
  /** Where log lines go (silent by default). */
  logger?: Logger;
  /** Follow outside edits as the server does (a watch of the folder and the fingerprint poll). */
  watch?: boolean;
  /** Wraps the real stores, for faults the disk cannot produce on demand. */
  wrapStores?: (stores: BalanceStore[]) => BalanceStore[];
  service?: Partial<BalanceServiceOptions>;
}

export async function openService(dir: string, options: TestServiceOptions = {}): Promise<TestService> {
  const logger = options.logger ?? pino({ level: 'silent' });
  const { journal } = await Journal.open(dir, { maxBytes: options.journalMaxBytes ?? 1 << 30, keepSegments: 3, retainMs: IDEMPOTENCY_WINDOW_MS, log: logger });
  const real: BalanceStore[] = [new BalanceFile(join(dir, VB), balanceFileShape), new BalanceFile(join(dir, ATS), tradingStateShape)];
  const stores = options.wrapStores?.(real) ?? real;
  const balance = new BalanceService({
    stores,
    journal,
    syncFolder: () => fsyncDirectory(dir),
    initialBalance: asAmount(BigInt(options.initialBalance ?? 10_000) * 100_000_000n),
    log: logger,
    recoveryIntervalMs: 50,
    ...options.service,
  });
  const metrics = new Metrics();
  metrics.watch(balance);
  try {
    await balance.open();
  } catch (error) {
    await journal.close();
    throw error;
  }
  const watcher = options.watch
    ? watchFiles(dir, [VB, ATS], balance, (error) => {
        throw error;
      })
    : null;
  const { app, upgrade, clientError, connect, close } = createApp({
    balance,
    history: journal,
    logger,
    metrics,
    config: {
      API_TOKEN: options.apiToken,
      CORS_ORIGINS: options.corsOrigins,
      HOST: options.host ?? '127.0.0.1',
      UPSTREAM_URL: options.upstreamUrl,
      UPSTREAM_TIMEOUT_MS: options.upstreamTimeoutMs ?? 30_000,
    },
  });
  return {
    balance,
    journal,
    stores,
    app,
    upgrade,
    clientError,
    connect,
    metrics,
    async close() {
      await watcher?.close();
      close();
      await balance.close();
      await journal.close();
    },
  };
}
