import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { PostgresUnavailableError } from '../../../src/store/postgres/errors.ts';
import type { PostgresStore } from '../../../src/store/postgres/postgres-store.ts';
import { adminQuery, countBackends, freshDatabase, postgresMissing, startRelay, terminateBackends, type Relay } from '../../helpers/postgres.ts';
import { waitFor } from '../../helpers/wait.ts';
import { commitRequests, delta, newAccount, openHost } from './hosts.ts';

/** Every revision a host's follower was told, in order. */
function told(store: PostgresStore): number[] {
  const revisions: number[] = [];
  store.follow((revision) => revisions.push(revision));
  return revisions;
}

const listenPid = async (hostId: string) =>
  (await adminQuery<{ pid: number }>('SELECT pid FROM pg_stat_activity WHERE application_name = $1', [`test-${hostId}/listen`]))[0]?.pid;

describe.skipIf(postgresMissing)('following the shared balance', () => {
  let url: string;
  let relay: Relay | undefined;
  beforeAll(async () => {
    url = await freshDatabase();
  });
  afterEach(async () => {
    await relay?.close();
    relay = undefined;
  });

  it("tells host B of host A's commits within 1 s, pushed", async () => {
    const a = await newAccount(url, 'a');
    const b = await openHost(url, a.account, 'b');
    const revisions = told(b);
    await waitFor(() => revisions.includes(0), 1_000, 'the catch-up on follow');
    for (let i = 1; i <= 5; i++) {
      await commitRequests(a, [delta('1')]);
      await waitFor(() => revisions.includes(i), 1_000, `revision ${i} at host B`);
    }
    // Someone else's message on the channel is not a revision.
    await adminQuery("SELECT pg_notify('balance_sync', 'not json'), pg_notify('balance_sync', $1)", [JSON.stringify({ account: a.account, revision: 'x' })], url);
    await commitRequests(a, [delta('1')]);
    await waitFor(() => revisions.includes(6), 1_000, 'revision 6 at host B');
    expect(revisions.filter((r) => r > 0)).toEqual([1, 2, 3, 4, 5, 6]);
  });

  it('closes every connection it opened', async () => {
    const a = await newAccount(url, 'closing');
    await commitRequests(a, [delta('1')]);
    expect(await countBackends('test-closing%')).toBeGreaterThanOrEqual(2);
    await a.close();
    await waitFor(async () => (await countBackends('test-closing%')) === 0, 2_000, 'the connections to end');
  });

  it('reconnects by itself after its LISTEN connection is terminated, and hears commits again', async () => {
    const a = await newAccount(url, 'a2');
    const b = await openHost(url, a.account, 'b2');
    const revisions = told(b);
    const changes: boolean[] = [];
    b.onReachability((reachable) => changes.push(reachable));
    const before = await listenPid('b2');
    expect(await terminateBackends('test-b2/listen')).toBe(1);
    const { value: after } = await waitFor(async () => {
      const pid = await listenPid('b2');
      return pid !== undefined && pid !== before ? pid : undefined;
    }, 3_000, 'a new LISTEN connection');
    expect(after).not.toBe(before);
    await commitRequests(a, [delta('1')]);
    await waitFor(() => revisions.includes(1), 1_000, 'revision 1 at host B');
    // Losing one connection is not losing the database: /health never said so.
    expect(changes).toEqual([]);
    expect(b.status()).toEqual({ kind: 'postgres', reachable: true });
  });

  it('catches up after a reconnection with what it missed while cut off: a notification is a hint, never the data', async () => {
    const a = await newAccount(url, 'a3');
    relay = await startRelay(url);
    const b = await openHost(relay.url, a.account, 'b3');
    const revisions = told(b);
    const changes: boolean[] = [];
    b.onReachability((reachable) => changes.push(reachable));
    await waitFor(() => revisions.includes(0), 1_000, 'the catch-up on follow');

    relay.refuse(true);
    relay.cut();
    await waitFor(() => !b.status().reachable, 5_000, 'host B to see the database unreachable');
    await commitRequests(a, [delta('1')]);
    await commitRequests(a, [delta('1')]);
    expect(revisions).not.toContain(2);

    relay.refuse(false);
    // Reconnection is tried at least every 2 s; its catch-up read brings revision 2, never notified to B.
    await waitFor(() => revisions.includes(2), 3_000, 'host B to catch up');
    expect(revisions).not.toContain(1);
    expect(b.status().reachable).toBe(true);
    expect(changes).toEqual([false, true]);
  });

  it('reports a database gone silent within 5 s, fails changes within 5 s, and recovers by itself', async () => {
    const a = await newAccount(url, 'a4');
    relay = await startRelay(url);
    const b = await openHost(relay.url, a.account, 'b4');
    // A connection in the pool when the network goes quiet: the commit that takes it must not hang.
    await commitRequests(b, [delta('1')]);
    relay.silence(true);
    const started = performance.now();
    const refused = commitRequests(b, [delta('1')]).catch((error: unknown) => error);
    const { elapsedMs } = await waitFor(() => !b.status().reachable, 5_000, 'the silence to be noticed');
    expect(b.status().error).toMatch(/no answer|timeout|terminated/i);
    expect(elapsedMs).toBeLessThan(5_000);
    expect(await refused).toBeInstanceOf(PostgresUnavailableError);
    expect(performance.now() - started).toBeLessThan(5_000);

    relay.silence(false);
    await waitFor(() => b.status().reachable, 5_000, 'the database to be reachable again');
    expect((await commitRequests(b, [delta('1')])).snapshot.revision).toBe(2);
  });
});
