import { describe, expect, it } from 'vitest';
import { asAmount } from '../../src/domain/amount.ts';
import { accountPerTest, amount, exact, expectEveryHostHolds, files, head, served, startHosts, type Host } from '../helpers/host-processes.ts';
import { expectAccounted, keyedLoad, postDelta } from '../helpers/keyed-clients.ts';
import { postgresMissing } from '../helpers/postgres.ts';
import { json, post } from '../helpers/server-process.ts';
import { connect, type SseClient } from '../helpers/sse.ts';
import { waitFor } from '../helpers/wait.ts';

const INITIAL = amount('10000');

/** The stream's event for `revision` (earlier ones are skipped), or a failure once `ms` have passed. */
async function eventFor(stream: SseClient, revision: number, ms: number) {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`no event for revision ${revision} within ${ms} ms`)), ms)));
  try {
    for (;;) {
      const event = await Promise.race([stream.next(), deadline]);
      if (Number(event.revision) >= revision) return { balance: exact(event.balance), revision: event.revision };
    }
  } finally {
    clearTimeout(timer);
  }
}

// Hosts are real server processes on one machine, each with its own port, data folder and HOST_ID,
// all on one fresh database (SPEC: One balance across hosts).
describe.skipIf(postgresMissing)('one balance across hosts', () => {
  const shared = accountPerTest();

  it("puts a change made on host A into host B's GET, both of B's files and B's event stream within 1 s — both ways — and lists both hosts in /health", async () => {
    const [a, b] = (await startHosts(shared, ['a', 'b'])) as [Host, Host];
    const streams = new Map([a, b].map((host) => [host, connect(`${host.url}/virtual_balance/events`)]));
    try {
      let expected = INITIAL;
      // The last change leaves the balance as it was (a trade that booked nothing): a revision all the same.
      for (const [i, [from, to, delta]] of ([[a, b, '1.01'], [b, a, '2.02'], [a, b, '-3.03'], [b, a, '0']] as const).entries()) {
        const answer = await postDelta(from as Host, `convergence-${i}`, delta);
        // One second for all three, from the answer on the host that made the change.
        const due = performance.now() + 1_000;
        const left = () => due - performance.now();
        expect(answer.status).toBe(200);
        expected = asAmount(expected + amount(delta));
        const reading = { balance: expected, revision: answer.revision as number };
        const other = to as Host;
        await waitFor(async () => (await served(other)).revision === reading.revision, left(), `${other.id} to serve revision ${reading.revision}`);
        expect(await served(other)).toEqual(reading);
        await waitFor(async () => (await files(other)).every((f) => f.revision === reading.revision && f.balance === expected), left(), `both of ${other.id}'s files`);
        expect(await eventFor(await (streams.get(other) as Promise<SseClient>), reading.revision, left())).toEqual(reading);
      }
      const { revision } = await expectEveryHostHolds(shared, [a, b], expected);
      // The fleet view: each host says every 3 s which revision its files hold (and reads the others'),
      // so the later of the two to say so lists both at the last revision.
      const { value: health } = await waitFor(async () => {
        for (const host of [a, b]) {
          const { status, body } = await json(`${host.url}/health`);
          const seen = body.hosts as { host_id: string; revision: number }[];
          if (status === 200 && seen.length === 2 && seen.every((h) => h.revision === revision)) return body;
        }
        return undefined;
      }, 5_000, 'both hosts at the last revision in /health');
      expect(health.store).toEqual({ kind: 'postgres', reachable: true });
      expect(health.hosts.map((h: { host_id: string }) => h.host_id)).toEqual([a.id, b.id].sort());
      for (const seen of health.hosts) {
        expect(seen).toMatchObject({ revision, lag: 0 });
        expect(Date.now() - Date.parse(seen.seen_at)).toBeLessThan(60_000);
      }
    } finally {
      for (const stream of streams.values()) (await stream).close();
    }
  });

  it('applies deltas from clients on every host at once exactly once, and answers a key replayed on another host with the same revision', async () => {
    // Started at the same instant on an empty database: they migrate and bring the account in once.
    const hosts = await startHosts(shared, ['a', 'b', 'c'], { together: true });
    const imported = hosts.filter((host) => host.server.logs.some((line) => String(line.msg).startsWith('brought this folder')));
    expect(imported).toHaveLength(1);
    const load = keyedLoad(hosts, { clients: 3, label: 'concurrent', replay: true });
    await waitFor(() => load.ledger.acked.size >= 90, 15_000, '90 acknowledged deltas');
    await load.stop();

    // The database was up all along: no change was refused for contention between hosts.
    expect(load.ledger.refused).toEqual([]);
    expect(load.ledger.replayed).toBe(load.ledger.acked.size);
    await expectAccounted(shared, hosts, load.ledger);
  });

  it('applies a key sent to every host at the same instant once, and every host answers the same revision', async () => {
    const hosts = await startHosts(shared, ['a', 'b', 'c']);
    for (let i = 0; i < 8; i++) {
      const answers = await Promise.all(hosts.map((host) => postDelta(host, `race-${i}`, '0.01')));
      expect(answers.map((a) => a.status)).toEqual([200, 200, 200]);
      expect(new Set(answers.map((a) => a.revision)).size).toBe(1);
      expect(answers.filter((a) => !a.replayed)).toHaveLength(1);
    }
    expect((await head(shared)).revision).toBe(1 + 8);
    await expectEveryHostHolds(shared, hosts, asAmount(INITIAL + amount('0.08')));
  });

  it("judges If-Match by the account's revision on every host, and refuses a key reused with another body on another host (422)", async () => {
    const [a, b] = (await startHosts(shared, ['a', 'b'])) as [Host, Host];
    const { headers } = await json(`${b.url}/virtual_balance`);
    const etag = headers.get('etag') as string;
    expect((await postDelta(a, 'first', '1')).status).toBe(200);
    // The ETag host B gave before host A's change is stale on B too.
    const stale = await post(`${b.url}/virtual_balance`, { delta: 1 }, { 'If-Match': etag });
    expect(stale.status).toBe(412);
    const { revision } = await head(shared);
    const current = await post(`${b.url}/virtual_balance`, { delta: 1 }, { 'If-Match': `"r${revision}"` });
    expect(current).toMatchObject({ status: 200, body: { revision: revision + 1 } });
    // Host B has never seen the key: the database remembers it.
    const reused = await post(`${b.url}/virtual_balance`, { delta: 2, reason: 'first' }, { 'Idempotency-Key': 'first' });
    expect(reused.status).toBe(422);
    await expectEveryHostHolds(shared, [a, b], asAmount(INITIAL + amount('2')));
  });
});
