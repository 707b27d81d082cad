// Clients booking deltas on several hosts at once, as a careful client does: every change carries
// an Idempotency-Key, and one not answered 200 (503, or its host died) is sent again with the same
// key — to the next host — until it is. Each delta must then be in the balance exactly once. Every
// delta's reason is its key, so the shared journal tells which ones it holds, keyed or not.

import { expect } from 'vitest';
import { asAmount, type Amount } from '../../src/domain/amount.ts';
import { amount, exact, expectEveryHostHolds, journalReasons, type Host, type Shared } from './host-processes.ts';

export interface Answer {
  status: number | 'network';
  revision?: number;
  balance?: Amount;
  replayed: boolean;
  ms: number;
  /** What a refusal said. */
  message?: string;
}

/**
 * One delta, with `key` as its reason and (unless `keyed` is false) its Idempotency-Key; a dropped
 * connection (a killed host) or no answer within 15 s is `network`.
 */
export async function postDelta(host: Host, key: string, delta: string, keyed = true): Promise<Answer> {
  const started = performance.now();
  try {
    const response = await fetch(`${host.url}/virtual_balance`, {
      method: 'POST',
      body: JSON.stringify({ delta, reason: key }),
      headers: keyed ? { 'Idempotency-Key': key } : {},
      signal: AbortSignal.timeout(15_000),
    });
    const body = (await response.json()) as { balance?: unknown; revision?: number; message?: string };
    const ms = performance.now() - started;
    if (response.status !== 200) return { status: response.status, replayed: false, ms, ...(body.message !== undefined && { message: body.message }) };
    return { status: 200, revision: body.revision as number, balance: exact(body.balance), replayed: response.headers.get('idempotency-replayed') === 'true', ms };
  } catch {
    return { status: 'network', replayed: false, ms: performance.now() - started };
  }
}

export interface Ledger {
  /** Every delta's key (and reason) starts with `<label>-`. */
  label: string;
  /** Every delta answered 200, by key. */
  acked: Map<string, Amount>;
  /** Sent and not acknowledged yet (refused, or its host died): settle() sends them again. */
  pending: Map<string, string>;
  /** Every answer that was not a 200, with the host and how long it took. */
  refused: { host: string; status: number | 'network'; ms: number }[];
  /** Answers no retry can fix (a 4xx, a replay answering another revision): the test fails on any. */
  wrong: string[];
  /** Acknowledged keys answered again by another host, with the same revision. */
  replayed: number;
  /** The longest any request took to be answered, ms. */
  slowestMs: number;
}

export const sum = (values: Iterable<Amount>): Amount => asAmount([...values].reduce<bigint>((a, b) => a + b, 0n));

/** Distinct deltas with cents, some negative: `3.07`, `-0.42`. */
const deltaText = (n: number) => `${n % 5 === 4 ? '-0' : (n % 9) + 1}.${String((n * 37) % 100).padStart(2, '0')}`;

/**
 * `clients` loops per host, each posting to its own host until stop(). `replay`: every acknowledged
 * key is sent once more to another host, which must answer the same revision and apply nothing.
 * `keyed: false`: no Idempotency-Key, so a change not answered 200 cannot be sent again safely: it is
 * left pending (and the test decides what that means). `hosts` may be changed while it runs (a host
 * restarted in its place).
 */
export function keyedLoad(hosts: Host[], options: { clients: number; label: string; replay?: boolean; keyed?: boolean }) {
  const keyed = options.keyed ?? true;
  const ledger: Ledger = { label: options.label, acked: new Map(), pending: new Map(), refused: [], wrong: [], replayed: 0, slowestMs: 0 };
  let stopped = false;
  const send = async (host: Host, key: string, delta: string) => {
    const answer = await postDelta(host, key, delta, keyed);
    ledger.slowestMs = Math.max(ledger.slowestMs, answer.ms);
    if (answer.status !== 200) ledger.refused.push({ host: host.id, status: answer.status, ms: answer.ms });
    return answer;
  };
  const client = async (home: number, c: number) => {
    for (let i = 0; !stopped; i++) {
      const key = `${options.label}-${home}-${c}-${i}`;
      const delta = deltaText(i * 7 + c * 3 + home);
      let at = home;
      let answer = await send(hosts[at] as Host, key, delta);
      while (answer.status === 503 || answer.status === 'network') {
        ledger.pending.set(key, delta);
        if (stopped) return;
        if (!keyed) break;
        // A client's back-off, then the same key on the next host.
        await new Promise((resolve) => setTimeout(resolve, 50));
        at = (at + 1) % hosts.length;
        answer = await send(hosts[at] as Host, key, delta);
      }
      if (!keyed && answer.status !== 200) continue;
      ledger.pending.delete(key);
      if (answer.status !== 200) {
        ledger.wrong.push(`${key}: ${answer.status}`);
        continue;
      }
      ledger.acked.set(key, exact(delta));
      if (!options.replay || hosts.length < 2) continue;
      const other = hosts[(at + 1) % hosts.length] as Host;
      const again = await send(other, key, delta);
      if (again.status !== 200) continue; // that host is down: nothing to compare
      if (again.revision !== answer.revision || again.balance !== answer.balance || !again.replayed) {
        ledger.wrong.push(`${key}: replayed on ${other.id} as revision ${again.revision} (replayed: ${again.replayed}), first answered ${answer.revision}`);
      } else ledger.replayed++;
    }
  };
  const running = hosts.flatMap((_, home) => Array.from({ length: options.clients }, (_, c) => client(home, c)));
  return {
    ledger,
    /** Stops sending new deltas; waits for those in flight. */
    async stop() {
      stopped = true;
      await Promise.all(running);
    },
  };
}

/** Sends every pending key again (to `host`) until it is acknowledged: no outcome stays unknown. */
export async function settle(ledger: Ledger, host: Host, timeoutMs = 10_000): Promise<void> {
  const until = performance.now() + timeoutMs;
  for (const [key, delta] of ledger.pending) {
    for (;;) {
      const answer = await postDelta(host, key, delta);
      if (answer.status === 200) break;
      if (performance.now() > until) throw new Error(`${key} is still not acknowledged: ${answer.status}`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    ledger.pending.delete(key);
    ledger.acked.set(key, exact(delta));
  }
}

/**
 * Every acknowledged delta is in the shared journal exactly once and no other of the ledger's is, and
 * every host (GET, both files) holds the initial balance plus their sum, plus `extra` (outside edits).
 */
export async function expectAccounted(shared: Shared, hosts: readonly Host[], ledger: Ledger, extra: Amount = asAmount(0n)): Promise<void> {
  expect(ledger.wrong).toEqual([]);
  expect([...ledger.pending.keys()]).toEqual([]);
  const journal = [...(await journalReasons(shared, `${ledger.label}-`))];
  expect(journal.filter(([, count]) => count !== 1)).toEqual([]);
  expect(journal.map(([reason]) => reason).sort()).toEqual([...ledger.acked.keys()].sort());
  await expectEveryHostHolds(shared, hosts, asAmount(amount('10000') + sum(ledger.acked.values()) + extra));
}
