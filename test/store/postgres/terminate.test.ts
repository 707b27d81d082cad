import { beforeAll, describe, expect, it } from 'vitest';
import { freshDatabase, postgresMissing, terminateBackends } from '../../helpers/postgres.ts';
import { expectAccounted, newAccount, openHost, startLoad } from './hosts.ts';

describe.skipIf(postgresMissing)("the hosts' connections killed under load", () => {
  let url: string;
  beforeAll(async () => {
    url = await freshDatabase();
  });

  it('keeps every acknowledged commit exactly once, no failed one, and resolves unknown ones by their id', async () => {
    const a = await newAccount(url, 'killed-a');
    const hosts = [a, await openHost(url, a.account, 'killed-b')];
    const load = startLoad(hosts);

    // pg_terminate_backend of every connection of both hosts (pool and LISTEN), over and over, as an
    // operator or a failover would: the kills land before, during and after COMMITs.
    let terminated = 0;
    for (let round = 0; round < 25; round++) {
      await new Promise((resolve) => setTimeout(resolve, 15 + (round % 4) * 10));
      terminated += await terminateBackends('test-killed-%');
    }
    await load.stop();

    await expectAccounted(a, load.tally);
    // The faults were real: connections died mid-commit, and the hosts went on.
    expect(terminated).toBeGreaterThan(25);
    expect(hosts.reduce((n, host) => n + host.commitCounters().connectionsLost, 0)).toBeGreaterThan(0);
    expect(load.tally.acknowledged.size).toBeGreaterThan(50);
  });
});
