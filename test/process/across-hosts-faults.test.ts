import { describe, expect, it } from 'vitest';
import { accountPerTest, restartHost, startHosts, type Host } from '../helpers/host-processes.ts';
import { expectAccounted, keyedLoad, settle, type Ledger } from '../helpers/keyed-clients.ts';
import { postgresMissing, terminateBackends } from '../helpers/postgres.ts';
import { json } from '../helpers/server-process.ts';
import { waitFor } from '../helpers/wait.ts';

const ackedSoFar = (ledger: Ledger) => ledger.acked.size;

describe.skipIf(postgresMissing)('hosts and their connections failing under load', () => {
  const shared = accountPerTest();

  it('kill -9 of a host under load: the others go on, the restarted host catches up, nothing acknowledged is lost or doubled', async () => {
    const hosts = await startHosts(shared, ['a', 'b', 'c']);
    const victim = hosts[2] as Host;
    // Clients on every host; a change refused or cut off is sent again, same key, to the next host.
    const load = keyedLoad(hosts, { clients: 2, label: 'kill' });
    await waitFor(() => ackedSoFar(load.ledger) >= 30, 10_000, 'deltas before the kill');
    await victim.server.kill('SIGKILL');
    const atKill = ackedSoFar(load.ledger);
    await waitFor(() => ackedSoFar(load.ledger) >= atKill + 30, 10_000, 'the other hosts to go on');

    // The dead host stays in the fleet view, falling behind.
    await waitFor(async () => {
      const { body } = await json(`${hosts[0]?.url}/health`);
      return body.hosts.some((h: { host_id: string; lag: number }) => h.host_id === victim.id && h.lag > 0) || undefined;
    }, 8_000, 'the killed host listed with a lag');

    hosts[2] = await restartHost(shared, victim);
    const atRestart = ackedSoFar(load.ledger);
    await waitFor(() => ackedSoFar(load.ledger) >= atRestart + 30, 10_000, 'deltas after the restart');
    await load.stop();
    await settle(load.ledger, hosts[0] as Host);

    expect(load.ledger.refused.some((r) => r.host === victim.id && r.status === 'network')).toBe(true);
    await expectAccounted(shared, hosts, load.ledger);
  });

  it("pg_terminate_backend of the hosts' connections under load: no change refused, nothing lost or doubled, lost COMMITs looked up", async () => {
    const hosts = await startHosts(shared, ['a', 'b']);
    // Without Idempotency-Keys: only the hosts' own lookup of a lost COMMIT keeps it from being applied twice.
    const load = keyedLoad(hosts, { clients: 3, label: 'terminate', keyed: false });
    await waitFor(() => ackedSoFar(load.ledger) >= 20, 10_000, 'deltas before the first kill');
    // Every connection of both hosts (pool, LISTEN), over and over, as an operator or a failover
    // would: the kills land before, during and after COMMITs.
    let terminated = 0;
    for (let round = 0; round < 20; round++) {
      await new Promise((resolve) => setTimeout(resolve, 20 + (round % 4) * 15));
      terminated += (await Promise.all(hosts.map((host) => terminateBackends(`balance-sync ${host.id}%`)))).reduce((a, b) => a + b, 0);
    }
    const afterKills = ackedSoFar(load.ledger);
    await waitFor(() => ackedSoFar(load.ledger) >= afterKills + 20, 10_000, 'deltas after the kills');
    await load.stop();

    expect(terminated).toBeGreaterThan(20);
    // The database answered all along: a lost connection is retried, a lost COMMIT looked up.
    expect(load.ledger.refused).toEqual([]);
    // The faults were real: commits lost their connection before COMMIT, and after it (looked up).
    const said = (msg: string) => hosts.flatMap((host) => host.server.logs.filter((line) => line.msg === msg)).length;
    expect(said('the connection was lost before the batch committed; trying again')).toBeGreaterThan(0);
    expect(said('the answer to a COMMIT was lost; looked it up by its id')).toBeGreaterThan(0);
    await expectAccounted(shared, hosts, load.ledger);
  });
});
