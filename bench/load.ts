// The load the sections drive: autocannon for the plan's duration (optionally keeping every response
// time), sequential timed POSTs, and waiting for a load generator's stragglers to land.

import autocannon from 'autocannon';
import { Connection } from './http-client.ts';
import { plan } from './plan.ts';
import { sleep } from './stats.ts';

export const load = (options: autocannon.Options): Promise<autocannon.Result> =>
  autocannon({ ...options, duration: options.amount ? undefined : plan.seconds } as autocannon.Options);

/** Throws when a load run saw anything but 2xx answers: its figure would not be the one it claims. */
export function expectAllOk(result: autocannon.Result, what: string): autocannon.Result {
  if (result.non2xx > 0 || result.errors > 0) {
    throw new Error(`${what}: ${result.non2xx} non-2xx answers and ${result.errors} errors out of ${result.requests.total}`);
  }
  return result;
}

/**
 * One POST timed from send to the whole answer: on a kept-alive node:http connection, or with fetch
 * (the client of the tables before issue 13) when none is given.
 */
export async function timedPost(url: string, body: unknown, connection?: Connection): Promise<number> {
  const started = performance.now();
  const text = JSON.stringify(body);
  const answer = connection
    ? await connection.send(url, 'POST', text)
    : await fetch(url, { method: 'POST', body: text }).then(async (res) => ({ status: res.status, body: await res.text(), at: performance.now() }));
  if (answer.status !== 200) throw new Error(`POST answered ${answer.status}: ${answer.body}`);
  return answer.at - started;
}

/** Sequential POSTs on one kept-alive connection. */
export async function timedPosts(url: string, count: number, body: (i: number) => unknown): Promise<number[]> {
  const connection = new Connection();
  const samples: number[] = [];
  try {
    for (let i = 0; i < count; i++) samples.push(await timedPost(url, body(i), connection));
  } finally {
    connection.close();
  }
  return samples;
}

/** Waits until the revision stops moving: requests a load generator left in flight have landed. */
export async function quiesce(url: string): Promise<void> {
  let last = -1;
  for (;;) {
    const { revision } = (await (await fetch(`${url}/virtual_balance`)).json()) as { revision: number };
    if (revision === last) return;
    last = revision;
    await sleep(300);
  }
}
