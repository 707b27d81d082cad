// Response bodies built once per change, not once per request: polls are served from memory.

import { randomBytes } from 'node:crypto';
import type { BalanceService } from '../domain/balance-service.ts';
import type { Snapshot } from '../domain/change.ts';
import { toJson } from './json.ts';

export interface Representation {
  body: string;
  /** The body encoded once, for the polled read path. */
  bytes: Buffer;
  etag: string;
}

const represent = (body: string, etag: string): Representation => ({ body, bytes: Buffer.from(body), etag });

export const CURRENCY = 'USDT';

export const etagOf = (snapshot: Snapshot): string => `"r${snapshot.revision}"`;

export const balanceBody = (snapshot: Snapshot): string =>
  toJson({ status: 'success', balance: snapshot.balance, currency: CURRENCY, last_updated: snapshot.updatedAt, revision: snapshot.revision });

/** The legacy dashboard's `GET /balance`: nothing is ever locked in paper trading, so all of it is available. */
const dashboardBody = (snapshot: Snapshot): string =>
  toJson({ status: 'success', balance: snapshot.balance, currency: CURRENCY, available: snapshot.balance, locked: 0, revision: snapshot.revision });

export class Representations {
  private balanceCache: { snapshot: Snapshot; value: Representation } | null = null;
  private dashboardCache: { snapshot: Snapshot; value: Representation } | null = null;
  private tradingCache: { version: number; value: Representation } | null = null;
  /** Versions restart with the process: the ETag must not match one from before a restart. */
  private readonly boot = randomBytes(6).toString('base64url');

  constructor(private readonly service: BalanceService) {}

  balance(): Representation {
    const snapshot = this.service.snapshot();
    if (this.balanceCache?.snapshot !== snapshot) {
      this.balanceCache = { snapshot, value: represent(balanceBody(snapshot), etagOf(snapshot)) };
    }
    return this.balanceCache.value;
  }

  dashboardBalance(): Representation {
    const snapshot = this.service.snapshot();
    if (this.dashboardCache?.snapshot !== snapshot) {
      this.dashboardCache = { snapshot, value: represent(dashboardBody(snapshot), etagOf(snapshot)) };
    }
    return this.dashboardCache.value;
  }

  trading(): Representation {
    // First, always: a cached body must not outlive the service's health (503 while recovering).
    const { revision } = this.service.snapshot();
    const version = this.service.version;
    if (this.tradingCache?.version !== version) {
      const state = toJson(this.service.tradingState());
      const body = `{"status":"success","data":${state},"auto_trading":${state},"revision":${revision}}`;
      this.tradingCache = { version, value: represent(body, `"s${this.boot}-${version}"`) };
    }
    return this.tradingCache.value;
  }
}
