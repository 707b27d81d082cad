import { randomUUID } from 'node:crypto';
import { beforeAll, describe, expect, it } from 'vitest';
import type { Amount } from '../../../src/domain/amount.ts';
import { CommitOutcomeUnknownError, PostgresUnavailableError } from '../../../src/store/postgres/errors.ts';
import type { PostgresStore } from '../../../src/store/postgres/postgres-store.ts';
import { freshDatabase, postgresMissing, terminateBackends } from '../../helpers/postgres.ts';
import { commitRequests, delta, INITIAL_BALANCE, newAccount, openHost, sum, wholeJournal } from './hosts.ts';

interface Tally {
  acknowledged: Map<string, Amount>;
  failed: Map<string, Amount>;
  unknown: Map<string, { commitId: string; amount: Amount }>;
}

/** Commits deltas one batch at a time until `until` resolves, each named by its reason; tallies every answer. */
async function load(host: PostgresStore, tally: Tally, until: { done: boolean }, lane: number): Promise<void> {
  for (let i = 0; !until.done; i++) {
    const reason = `${host.hostId}-${lane}-${i}`;
    const amount = BigInt(lane * 1_000 + i + 1) as Amount;
    const commitId = randomUUID();
    try {
      await commitRequests(host, [delta(amount, { reason })], commitId);
      tally.acknowledged.set(reason, amount);
    } catch (error) {
      if (error instanceof CommitOutcomeUnknownError) tally.unknown.set(reason, { commitId, amount });
      else if (error instanceof PostgresUnavailableError) tally.failed.set(reason, amount);
      else throw error;
    }
  }
}

describe.skipIf(postgresMissing)("the hosts' connections killed under load", () => {
  let url: string;
  beforeAll(async () => {
    url = await freshDatabase();
  });

  it('keeps every acknowledged commit exactly once, no failed one, and resolves unknown ones by their id', async () => {
    const a = await newAccount(url, 'killed-a');
    const hosts = [a, await openHost(url, a.account, 'killed-b')];
    const tally: Tally = { acknowledged: new Map(), failed: new Map(), unknown: new Map() };
    const until = { done: false };
    const loads = hosts.flatMap((host) => [0, 1, 2].map((lane) => load(host, tally, until, lane)));

    // pg_terminate_backend of every connection of both hosts (pool and LISTEN), over and over, as an
    // operator or a failover would: the kills land before, during and after COMMITs.
    let terminated = 0;
    for (let round = 0; round < 25; round++) {
      await new Promise((resolve) => setTimeout(resolve, 15 + (round % 4) * 10));
      terminated += await terminateBackends('test-killed-%');
    }
    until.done = true;
    await Promise.all(loads);

    const resolved = new Map<string, Amount>();
    for (const [reason, { commitId, amount }] of tally.unknown) if ((await a.outcomeOf(commitId)) === 'applied') resolved.set(reason, amount);

    const journal = await wholeJournal(a);
    const reasons = journal.map((entry) => entry.reason as string);
    expect(new Set(reasons).size).toBe(reasons.length);
    expect(reasons.sort()).toEqual([...tally.acknowledged.keys(), ...resolved.keys()].sort());
    for (const reason of tally.failed.keys()) expect(reasons).not.toContain(reason);
    expect(journal.map((entry) => entry.revision)).toEqual(journal.map((_, i) => i + 1));
    expect((await a.head())?.balance).toBe(INITIAL_BALANCE + sum([...tally.acknowledged.values(), ...resolved.values()]));

    // The faults were real: connections died mid-commit, and the hosts went on.
    expect(terminated).toBeGreaterThan(25);
    expect(hosts.reduce((n, host) => n + host.commitCounters().connectionsLost, 0)).toBeGreaterThan(0);
    expect(tally.acknowledged.size).toBeGreaterThan(50);
  });
});
