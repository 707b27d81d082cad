// Writes: one writer's POST p50 against the durable floor (bench/durable-floor.ts), and the
// throughput of 32 concurrent writers against one (group commit).

import { mkdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { openDurableFloor } from './durable-floor.ts';
import { Connection } from './http-client.ts';
import { expectAllOk, load, quiesce, timedPost } from './load.ts';
import { plan } from './plan.ts';
import { record } from './report.ts';
import { median } from './stats.ts';

const WARM_UP_POSTS = 20;

/** `dataDir` is the service's; the floor runs in a folder beside it, on the same disk. */
export async function measureWrites(url: string, dataDir: string, work: string, roundTripMs: number): Promise<void> {
  const sizes = {
    balanceFile: (await readFile(join(dataDir, 'virtual_balance.json'))).length,
    tradingFile: (await readFile(join(dataDir, 'auto_trading_state.json'))).length,
  };
  const floorDir = join(work, 'floor');
  await mkdir(floorDir);
  // The floor and both clients in turns, after a warm-up, so that none gets the colder or the noisier half.
  const floor = await openDurableFloor(floorDir, sizes);
  const connection = new Connection();
  const samples = { floor: [] as number[], http: [] as number[], fetch: [] as number[] };
  try {
    for (let i = 0; i < WARM_UP_POSTS + plan.posts; i++) {
      const once = await floor.once();
      const http = await timedPost(`${url}/virtual_balance`, { delta: 0.01 }, connection);
      const viaFetch = await timedPost(`${url}/virtual_balance`, { delta: 0.01 });
      if (i < WARM_UP_POSTS) continue;
      samples.floor.push(once);
      samples.http.push(http);
      samples.fetch.push(viaFetch);
    }
  } finally {
    connection.close();
    await floor.close();
  }
  const floorP50 = median(samples.floor);
  const postP50 = median(samples.http);
  const fetchP50 = median(samples.fetch);
  record({
    figure: 'POST p50, 1 writer (ms)',
    value: postP50,
    baseline: floorP50,
    unit: 'ms',
    target: '≤ 1.0 × durable floor',
    met: (r) => r <= 1.0,
    note: `node:http client on a kept-alive connection; with fetch (the client of the tables before issue 13), in turns with it: ${fetchP50.toFixed(2)} ms (${(fetchP50 / floorP50).toFixed(2)}×)`,
  });
  // The floor is disk work only; a POST also crosses HTTP. This is the same client's round trip to bare Express.
  record({ figure: 'POST p50, 1 writer, over durable floor + HTTP round trip (ms)', value: postP50, baseline: floorP50 + roundTripMs, unit: 'ms', target: 'informational', met: () => true });

  const post = { method: 'POST' as const, body: '{"delta":0.01}', url: `${url}/virtual_balance` };
  const one = expectAllOk(await load({ ...post, connections: 1 }), 'POST, 1 writer').requests.average;
  const many = expectAllOk(await load({ ...post, connections: 32 }), 'POST, 32 writers').requests.average;
  record({ figure: 'POST throughput, 32 writers vs 1 (req/s)', value: many, baseline: one, unit: 'req/s', target: '≥ 8×', met: (r) => r >= 8 });
  await quiesce(url);
}
