import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { asAmount, formatAmount } from '../../src/domain/amount.ts';
import { accountPerTest, amount, exact, files, served, startHosts, type Host } from '../helpers/host-processes.ts';
import { expectAccounted, keyedLoad, settle } from '../helpers/keyed-clients.ts';
import { mayRestartCluster, postgresMissing, startCluster, stopCluster } from '../helpers/postgres.ts';
import { json } from '../helpers/server-process.ts';
import { ATS } from '../helpers/service.ts';
import { waitFor } from '../helpers/wait.ts';

const health = async (host: Host) => json(`${host.url}/health`);

// Stops the whole cluster, so it runs alone and only when asked for (CI does, in a step of its own):
//   BALANCE_SYNC_TEST_PG_RESTART=1 npx vitest run test/process/across-hosts-restart.test.ts
describe.skipIf(postgresMissing || !mayRestartCluster)('PostgreSQL stopped and started under load, hosts as processes', () => {
  const shared = accountPerTest();
  // Whatever happens in the test, the cluster runs again afterwards.
  afterAll(startCluster);

  it('refuses changes within 5 s and says so, serves reads, keeps an outside edit in its file until the database is back, then commits it and converges', async () => {
    const hosts = await startHosts(shared, ['a', 'b']);
    const b = hosts[1] as Host;
    const load = keyedLoad(hosts, { clients: 2, label: 'restart' });
    await waitFor(() => load.ledger.acked.size >= 30, 10_000, 'deltas before the stop');
    const edit = join(b.dir, ATS);
    try {
      await stopCluster();
      const stopped = performance.now();
      await waitFor(async () => {
        const answers = await Promise.all(hosts.map(health));
        return answers.every(({ status, body }) => status === 503 && body.store.kind === 'postgres' && body.store.reachable === false && body.store.error) || undefined;
      }, 5_000, '/health 503 with store.reachable: false on every host');
      await waitFor(() => load.ledger.refused.some((r) => r.status === 503) || undefined, Math.max(0, 5_000 - (performance.now() - stopped)), 'a change refused');

      // Reads go on: each host serves the last balance it committed, which its files hold.
      for (const host of hosts) expect(await files(host)).toEqual([await served(host), await served(host)]);
      // A legacy booking on host B meanwhile: it waits in its file, and B serves what it committed.
      const committed = await served(b);
      const read = JSON.parse(await readFile(edit, 'utf8'));
      const waiting = asAmount(exact(read.balance) + amount('7.77'));
      await writeFile(edit, JSON.stringify({ ...read, balance: Number(formatAmount(waiting)) }));
      // (Its pipeline may still be asking about a COMMIT cut by the stop: up to the 3.5 s a commit may take.)
      await waitFor(async () => (await health(b)).body.files[ATS].balance === Number(formatAmount(waiting)), 10_000, 'host B to see the edit');
      expect(await served(b)).toEqual(committed);
      expect(exact(JSON.parse(await readFile(edit, 'utf8')).balance)).toBe(waiting);
    } finally {
      await startCluster();
    }
    await waitFor(async () => (await Promise.all(hosts.map(health))).every(({ status }) => status === 200) || undefined, 10_000, 'every host ready again by itself');
    const acked = load.ledger.acked.size;
    await waitFor(() => load.ledger.acked.size >= acked + 30, 10_000, 'deltas after the start');
    await load.stop();
    await settle(load.ledger, hosts[0] as Host);

    expect(new Set(load.ledger.refused.map((r) => r.status))).toEqual(new Set([503]));
    expect(load.ledger.slowestMs).toBeLessThan(5_000);
    // The edit made while the database was down is in the balance once, on every host.
    await expectAccounted(shared, hosts, load.ledger, amount('7.77'));
  });
});
