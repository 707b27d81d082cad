// Hosts for the store tests: adapters on one real database, committing requests as the domain will (planBatch).

import { randomUUID } from 'node:crypto';
import { afterEach } from 'vitest';
import { asAmount, parseAmount, type Amount } from '../../../src/domain/amount.ts';
import type { ChangeRequest, Snapshot } from '../../../src/domain/change.ts';
import { planBatch, type Plan } from '../../../src/domain/commit/plan.ts';
import type { Log } from '../../../src/domain/ports.ts';
import { PostgresStore, type PostgresStoreOptions } from '../../../src/store/postgres/postgres-store.ts';
import { uniqueName } from '../../helpers/postgres.ts';

export const amount = (text: string): Amount => {
  const parsed = parseAmount(text, { allowNegative: true });
  if (!parsed.ok) throw new Error(parsed.message);
  return parsed.value;
};

export const INITIAL_BALANCE = amount('10000');
export const initial = (balance = INITIAL_BALANCE, revision = 0): Snapshot => ({ balance, revision, updatedAt: new Date().toISOString() });

export const delta = (value: string | Amount, extra: Partial<ChangeRequest> = {}): ChangeRequest => ({
  op: { kind: 'delta', delta: typeof value === 'string' ? amount(value) : value },
  ...extra,
});
export const withKey = (key: string, requestHash = 'hash'): Pick<ChangeRequest, 'idempotency'> => ({ idempotency: { key, requestHash } });

/** Log lines, kept for the assertions that need them. */
export function recordingLog(): Log & { lines: { level: string; message: string; details: object }[] } {
  const lines: { level: string; message: string; details: object }[] = [];
  const at = (level: string) => (details: object, message: string) => void lines.push({ level, message, details });
  return { lines, debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') };
}

const opened: PostgresStore[] = [];
afterEach(async () => {
  await Promise.all(opened.splice(0).map((store) => store.close()));
});

/** An adapter as host `hostId` would open it; closed after the test. Connections are named `test-<hostId>`. */
export async function openHost(url: string, account: string, hostId: string, options: Partial<PostgresStoreOptions> = {}): Promise<PostgresStore> {
  const store = await PostgresStore.open({ url, account, hostId, log: recordingLog(), applicationName: `test-${hostId}`, ...options });
  opened.push(store);
  return store;
}

/** A fresh account, imported with `balance` by a first host; returns that host. */
export async function newAccount(url: string, hostId = uniqueName('host'), balance = INITIAL_BALANCE): Promise<PostgresStore> {
  const store = await openHost(url, uniqueName('account'), hostId);
  await store.importAccount({ snapshot: initial(balance), entries: [], keys: [] });
  return store;
}

/**
 * One batch, one transaction, decided by the domain's planBatch with the database's clock, each
 * entry's source carrying the host as the service writes it.
 */
export function commitRequests(store: PostgresStore, requests: readonly ChangeRequest[], commitId = randomUUID()): Promise<Plan<{ request: ChangeRequest }>> {
  const jobs = requests.map((request) => ({ request }));
  const keys = requests.flatMap((request) => (request.idempotency ? [request.idempotency.key] : []));
  return store.commit({ commitId, keys }, ({ current, remembered, now }) => {
    const plan = planBatch(current, jobs, { initialBalance: INITIAL_BALANCE, at: now, remembered: (key) => remembered.get(key) });
    return { ...plan, entries: plan.entries.map((entry) => ({ ...entry, source: `${entry.source}@${store.hostId}` })) };
  });
}

export const sum = (amounts: readonly Amount[]): Amount => asAmount(amounts.reduce((a, b) => a + b, 0n));

/** Every entry of the account, oldest first, read in pages as a catching-up host would. */
export async function wholeJournal(store: PostgresStore) {
  const entries = [];
  for (let page = await store.entriesSince(0, 500); page.length > 0; page = await store.entriesSince(page.at(-1)?.revision ?? 0, 500)) {
    entries.push(...page);
  }
  return entries;
}
