// The rows of the across-hosts section (bench/across-hosts.ts), each on hosts already running.

import { mkdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { BenchHost } from './across-hosts.ts';
import { openBareCommit } from './bare-commit.ts';
import { openDurableFloor } from './durable-floor.ts';
import { EventClients } from './event-clients.ts';
import { Connection } from './http-client.ts';
import { expectAllOk, load, quiesce, timedPost } from './load.ts';
import { plan } from './plan.ts';
import { record } from './report.ts';
import { median, percentile, sleep } from './stats.ts';

const WARM_UP = 20;
const POST = { method: 'POST' as const, body: '{"delta":0.01}' };
const list = (values: number[]) => values.map((v) => v.toFixed(0)).join(', ');

/**
 * One writer's POST p50 on one host, against the same change's least work without the service: the
 * store's transaction by the bare driver (bench/bare-commit.ts) plus the single-host durable floor
 * (bench/durable-floor.ts), each timed in turns with the POSTs.
 */
export async function measureHostPost(host: BenchHost, databaseUrl: string, work: string): Promise<void> {
  const sizes = {
    balanceFile: (await readFile(join(host.dir, 'virtual_balance.json'))).length,
    tradingFile: (await readFile(join(host.dir, 'auto_trading_state.json'))).length,
  };
  const floorDir = join(work, 'across-hosts-floor');
  await mkdir(floorDir);
  const floor = await openDurableFloor(floorDir, sizes);
  const bare = await openBareCommit(databaseUrl, 'bench-bare');
  const connection = new Connection();
  const samples = { floor: [] as number[], bare: [] as number[], baseline: [] as number[], post: [] as number[], get: [] as number[] };
  try {
    for (let i = 0; i < WARM_UP + plan.posts; i++) {
      const once = await floor.once();
      const commit = await bare.once();
      const post = await timedPost(`${host.url}/virtual_balance`, { delta: 0.01 }, connection);
      const started = performance.now();
      const get = await connection.send(`${host.url}/virtual_balance`);
      if (i < WARM_UP) continue;
      samples.floor.push(once);
      samples.bare.push(commit);
      samples.baseline.push(once + commit);
      samples.post.push(post);
      samples.get.push(get.at - started);
    }
  } finally {
    connection.close();
    await bare.close();
    await floor.close();
  }
  const [postP50, baseline, floorP50, bareP50, getP50] = [samples.post, samples.baseline, samples.floor, samples.bare, samples.get].map(median) as [number, number, number, number, number];
  record({
    figure: 'across hosts: POST p50 on one host, 1 writer (ms)',
    value: postP50,
    baseline,
    unit: 'ms',
    target: '≤ 1.0 × bare-driver commit + durable floor',
    met: (r) => r <= 1.0,
    note: `baseline per round: the store's transaction by the bare pg driver, pipelined (p50 ${bareP50.toFixed(2)} ms), then the single-host durable floor (p50 ${floorP50.toFixed(2)} ms); POSTs on a kept-alive node:http connection, in turns with both`,
  });
  record({
    figure: 'across hosts: POST p50, over bare commit + floor + a GET round trip (ms)',
    value: postP50,
    baseline: baseline + getP50,
    unit: 'ms',
    target: 'informational',
    met: () => true,
    note: `the same client's GET /virtual_balance round trip to the same host, p50 ${getP50.toFixed(2)} ms`,
  });
}

/** Sequential POSTs on host A; each one's event on host B's stream, timed from A's answer. */
export async function measureCrossHost(a: BenchHost, b: BenchHost): Promise<void> {
  const stream = await EventClients.connect(`${b.url}/virtual_balance/events`, 1);
  const poster = new Connection();
  const latencies: number[] = [];
  try {
    for (let i = 0; i < WARM_UP + plan.posts; i++) {
      const answer = await poster.send(`${a.url}/virtual_balance`, 'POST', POST.body);
      if (answer.status !== 200) throw new Error(`POST on host A answered ${answer.status}: ${answer.body}`);
      const { revision } = JSON.parse(answer.body) as { revision: number };
      if ((await stream.waitFor(revision, 5_000)) !== 1) throw new Error(`host B never served revision ${revision}`);
      // Not clamped: B's event may beat A's answer to this process (A renames its files after COMMIT).
      if (i >= WARM_UP) latencies.push((stream.arrivalsOf(revision)[0] as number) - answer.at);
      await sleep(20);
    }
  } finally {
    poster.close();
    stream.close();
  }
  record({
    figure: 'across hosts: a change on host A served by host B, p95 (ms)',
    value: percentile(latencies, 95),
    unit: 'ms',
    target: '≤ 50 ms',
    met: (v) => v <= 50,
    note: `from A's answer to B's event (sent once B's files and GET hold it), ${latencies.length} sequential POSTs: p50 ${percentile(latencies, 50).toFixed(2)} ms, max ${percentile(latencies, 100).toFixed(2)} ms, ${latencies.filter((ms) => ms < 0).length} before A's answer`,
  });
}

/** Acknowledged changes per second: 3 hosts × 16 writers against 1 host × 48, every host following. */
export async function measureHostThroughput(hosts: readonly BenchHost[]): Promise<void> {
  const [first] = hosts as [BenchHost];
  const rates = { spread: [] as number[], one: [] as number[] };
  for (let round = 0; round < plan.rounds; round++) {
    const one = expectAllOk(await load({ ...POST, url: `${first.url}/virtual_balance`, connections: 48 }), '1 host × 48 writers');
    rates.one.push(one.requests.average);
    await quiesce(first.url);
    const spread = await Promise.all(hosts.map((host) => load({ ...POST, url: `${host.url}/virtual_balance`, connections: 16 })));
    rates.spread.push(spread.reduce((total, result, i) => total + expectAllOk(result, `host ${hosts[i]?.id} of 3 × 16 writers`).requests.average, 0));
    await quiesce(first.url);
  }
  record({
    figure: `across hosts: ${hosts.length} hosts × 16 writers vs 1 host × 48, acknowledged changes/s`,
    value: median(rates.spread),
    baseline: median(rates.one),
    unit: 'req/s',
    target: '≥ 0.8×',
    met: (r) => r >= 0.8,
    note: `every answer a 200 (a change committed and in the answering host's files); all ${hosts.length} hosts up and following in both; autocannon in the bench process; rounds: ${list(rates.spread)} against ${list(rates.one)}`,
  });
}
