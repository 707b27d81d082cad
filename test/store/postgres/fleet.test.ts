import { beforeAll, describe, expect, it } from 'vitest';
import { adminQuery, freshDatabase, postgresMissing } from '../../helpers/postgres.ts';
import { commitRequests, delta, newAccount, openHost, withKey } from './hosts.ts';

describe.skipIf(postgresMissing)('the fleet view', () => {
  let url: string;
  beforeAll(async () => {
    url = await freshDatabase();
  });

  it('lists the hosts seen in the last minute, each with the revision its files hold and its lag', async () => {
    const a = await newAccount(url, 'fleet-a');
    const [b, c] = [await openHost(url, a.account, 'fleet-b'), await openHost(url, a.account, 'fleet-c')];
    await commitRequests(a, [delta('1'), delta('1'), delta('1')]);
    await Promise.all([a.heartbeat(3), b.heartbeat(1), c.heartbeat(2)]);
    // c went quiet more than a minute ago (by the database's clock).
    await adminQuery("UPDATE balance_sync_hosts SET seen_at = now() - interval '61 seconds' WHERE host_id = 'fleet-c'", [], url);

    const hosts = await b.hosts();
    expect(hosts.map(({ host_id, revision, lag }) => ({ host_id, revision, lag }))).toEqual([
      { host_id: 'fleet-a', revision: 3, lag: 0 },
      { host_id: 'fleet-b', revision: 1, lag: 2 },
    ]);
    expect(Math.abs(Date.parse(hosts[0]?.seen_at ?? '') - Date.now())).toBeLessThan(60_000);

    await b.heartbeat(3);
    expect((await a.hosts()).find((h) => h.host_id === 'fleet-b')).toMatchObject({ revision: 3, lag: 0 });
  });

  it("sweeps the account's Idempotency-Keys older than 24 h on a heartbeat", async () => {
    const a = await newAccount(url, 'sweeper');
    await commitRequests(a, [delta('1', withKey('old')), delta('1', withKey('young'))]);
    await adminQuery("UPDATE balance_sync_idempotency_keys SET created_at = now() - interval '25 hours' WHERE account = $1 AND key = 'old'", [a.account], url);
    await a.heartbeat(2);
    const keys = await adminQuery<{ key: string }>('SELECT key FROM balance_sync_idempotency_keys WHERE account = $1', [a.account], url);
    expect(keys.map((k) => k.key)).toEqual(['young']);
  });
});
