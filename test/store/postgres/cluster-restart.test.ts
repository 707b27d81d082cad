import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { PostgresStore } from '../../../src/store/postgres/postgres-store.ts';
import { freshDatabase, mayRestartCluster, postgresMissing, startCluster, stopCluster } from '../../helpers/postgres.ts';
import { waitFor } from '../../helpers/wait.ts';
import { expectAccounted, newAccount, openHost, startLoad } from './hosts.ts';

// Stops the whole cluster, so it runs alone and only when asked for:
//   BALANCE_SYNC_TEST_PG_RESTART=1 npx vitest run test/store/postgres/cluster-restart.test.ts
describe.skipIf(postgresMissing || !mayRestartCluster)('PostgreSQL stopped and started under load', () => {
  let url: string;
  beforeAll(async () => {
    url = await freshDatabase();
  });
  // Whatever happens in the test, the cluster runs again afterwards.
  afterAll(startCluster);

  it('refuses changes within 5 s while down, says so within 5 s, and afterwards commits and catches up by itself', async () => {
    const a = await newAccount(url, 'restart-a');
    const b = await openHost(url, a.account, 'restart-b');
    const seenByB: number[] = [];
    b.follow((revision) => seenByB.push(revision));
    const load = startLoad([a, b], 2);
    const hosts: PostgresStore[] = [a, b];
    try {
      await waitFor(() => load.tally.acknowledged.size >= 20, 5_000, 'commits before the stop');
      await stopCluster();
      const { elapsedMs } = await waitFor(() => hosts.every((host) => !host.status().reachable), 5_000, 'both hosts to see the database down');
      expect(elapsedMs).toBeLessThan(5_000);
      const before = load.tally.failed.size;
      await waitFor(() => load.tally.failed.size >= before + 4, 5_000, 'changes refused while down');
    } finally {
      await startCluster();
    }
    await waitFor(() => hosts.every((host) => host.status().reachable), 10_000, 'both hosts to reconnect by themselves');
    const acknowledged = load.tally.acknowledged.size;
    await waitFor(() => load.tally.acknowledged.size >= acknowledged + 20, 10_000, 'commits after the start');
    await load.stop();

    expect(load.tally.slowestMs).toBeLessThan(5_000);
    await expectAccounted(a, load.tally);
    const head = await a.head();
    await waitFor(() => seenByB.includes(head?.revision ?? -1), 1_000, 'host B to follow to the last revision');
  });
});
