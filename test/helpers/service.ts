// The real service on a temp folder, without a process: assembled as start.ts assembles it (real
// stores, real journal), with a silent logger and the test's own hooks.

import { pino, type Logger } from 'pino';
import { assemble } from '../../src/assemble.ts';
import type { App } from '../../src/app.ts';
import { loadConfig, type Config } from '../../src/config.ts';
import { asAmount } from '../../src/domain/amount.ts';
import type { BalanceService, BalanceServiceOptions } from '../../src/domain/balance-service.ts';
import type { BalanceStore } from '../../src/domain/ports.ts';
import { fsyncDirectory } from '../../src/store/durable-write.ts';
import type { Metrics } from '../../src/metrics/metrics.ts';
import type { Journal } from '../../src/store/journal.ts';

export const VB = 'virtual_balance.json';
export const ATS = 'auto_trading_state.json';

export interface TestService {
  balance: BalanceService;
  journal: Journal;
  stores: BalanceStore[];
  app: App['app'];
  upgrade: App['upgrade'];
  clientError: App['clientError'];
  connect: App['connect'];
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
  /** The shared truth (DATABASE_URL), its account and this host's id. */
  databaseUrl?: string;
  account?: string;
  hostId?: string;
  /** Where log lines go (silent by default). */
  logger?: Logger;
  /** Follow outside edits as the server does (a watch of the folder and the fingerprint poll). */
  watch?: boolean;
  /** Wraps the real stores, for faults the disk cannot produce on demand. */
  wrapStores?: (stores: BalanceStore[]) => BalanceStore[];
  service?: Partial<BalanceServiceOptions>;
}

/** The service's own defaults, as an empty environment gives them. */
function defaults(): Config {
  const loaded = loadConfig({});
  if (!loaded.ok) throw new Error(loaded.message);
  return loaded.config;
}

export async function openService(dir: string, options: TestServiceOptions = {}): Promise<TestService> {
  const logger = options.logger ?? pino({ level: 'silent' });
  const config: Config = {
    ...defaults(),
    DATA_DIR: dir,
    BALANCE_FILE: VB,
    TRADING_STATE_FILE: ATS,
    INITIAL_BALANCE: asAmount(BigInt(options.initialBalance ?? 10_000) * 100_000_000n),
    JOURNAL_MAX_BYTES: options.journalMaxBytes ?? 1 << 30,
    JOURNAL_SEGMENTS: 3,
    API_TOKEN: options.apiToken,
    CORS_ORIGINS: options.corsOrigins,
    HOST: options.host ?? '127.0.0.1',
    UPSTREAM_URL: options.upstreamUrl,
    UPSTREAM_TIMEOUT_MS: options.upstreamTimeoutMs ?? 30_000,
    DATABASE_URL: options.databaseUrl,
    ACCOUNT: options.account ?? 'default',
    HOST_ID: options.hostId ?? 'test-host',
  };
  const service = await assemble(config, {
    logger,
    syncFolder: () => fsyncDirectory(dir),
    ...(options.watch && {
      onWatchError: (error: unknown) => {
        throw error;
      },
    }),
    ...(options.wrapStores && { wrapStores: options.wrapStores }),
    service: { recoveryIntervalMs: 50, ...options.service },
  });
  return {
    balance: service.balance,
    journal: service.journal,
    stores: service.stores,
    ...service.listeners,
    metrics: service.metrics,
    async close() {
      await service.stopServing();
      await service.close();
    },
  };
}
