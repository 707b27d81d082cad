// Hosts for the store tests: adapters on one real database, committing requests as the domain will (planBatch).

import { randomUUID } from 'node:crypto';
import { afterEach, expect } from 'vitest';
import { asAmount, parseAmount, type Amount } from '../../../src/domain/amount.ts';
import type { ChangeRequest, Snapshot } from '../../../src/domain/change.ts';
import { planBatch, type Plan } from '../../../src/domain/commit/plan.ts';
import type { Log } from '../../../src/domain/ports.ts';
import { CommitOutcomeUnknownError, PostgresUnavailableError } from '../../../src/store/postgres/errors.ts';
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

/** What the hosts answered under load, each commit named by its reason. */
export interface Tally {
  acknowledged: Map<string, Amount>;
  failed: Map<string, Amount>;
  unknown: Map<string, { commitId: string; amount: Amount }>;
  /** The longest any commit took to answer, ms. */
  slowestMs: number;
}

/**
 * Each host commits one-delta batches on `lanes` lanes until stopped; a refused change is retried a
 * little later, as a client would. `stop()` waits for the commits in flight.
 */
export function startLoad(hosts: readonly PostgresStore[], lanes = 3): { tally: Tally; stop(): Promise<void> } {
  const tally: Tally = { acknowledged: new Map(), failed: new Map(), unknown: new Map(), slowestMs: 0 };
  let stopped = false;
  const lane = async (host: PostgresStore, n: number) => {
    for (let i = 0; !stopped; i++) {
      const reason = `${host.hostId}-${n}-${i}`;
      const change = asAmount(BigInt(n * 1_000_000 + i + 1));
      const commitId = randomUUID();
      const started = performance.now();
      try {
        await commitRequests(host, [delta(change, { reason })], commitId);
        tally.acknowledged.set(reason, change);
      } catch (error) {
        if (error instanceof CommitOutcomeUnknownError) tally.unknown.set(reason, { commitId, amount: change });
        else if (error instanceof PostgresUnavailableError) tally.failed.set(reason, change);
        else throw error;
        await new Promise((resolve) => setTimeout(resolve, 50));
      } finally {
        tally.slowestMs = Math.max(tally.slowestMs, performance.now() - started);
      }
    }
  };
  const running = hosts.flatMap((host) => Array.from({ length: lanes }, (_, n) => lane(host, n)));
  return {
    tally,
    async stop() {
      stopped = true;
      await Promise.all(running);
    },
  };
}

/**
 * The journal holds every acknowledged commit exactly once, no failed one, and the unknown ones as
 * outcomeOf tells; revisions are gapless and the balance is the initial one plus every applied delta.
 */
export async function expectAccounted(store: PostgresStore, tally: Tally, initialBalance = INITIAL_BALANCE): Promise<void> {
  const applied = new Map(tally.acknowledged);
  for (const [reason, { commitId, amount }] of tally.unknown) if ((await store.outcomeOf(commitId)) === 'applied') applied.set(reason, amount);
  const journal = await wholeJournal(store);
  const reasons = journal.map((entry) => entry.reason as string);
  expect(new Set(reasons).size).toBe(reasons.length);
  expect([...reasons].sort()).toEqual([...applied.keys()].sort());
  for (const reason of tally.failed.keys()) expect(reasons).not.toContain(reason);
  expect(journal.map((entry) => entry.revision)).toEqual(journal.map((_, i) => i + 1));
  expect((await store.head())?.balance).toBe(initialBalance + sum([...applied.values()]));
}
