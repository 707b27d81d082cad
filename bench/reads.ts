// Polled reads: GET /virtual_balance throughput and paced p99 against a bare Express app serving the
// same body from memory (bench/bare-express.ts), alternating three rounds and taking medians.

import { join } from 'node:path';
import autocannon from 'autocannon';
import { launch } from './children.ts';
import { Connection } from './http-client.ts';
import { expectAllOk, load } from './load.ts';
import { plan } from './plan.ts';
import { record } from './report.ts';
import { median } from './stats.ts';

const bareScript = join(import.meta.dirname, 'bare-express.js');

/** Records the GET rows; returns the median round trip of one sequential GET to bare Express, for the POST rows. */
export async function measureReads(url: string): Promise<{ roundTripMs: number }> {
  const body = await (await fetch(`${url}/virtual_balance`)).text();
  const bare = await launch(bareScript, [body]);
  const bareUrl = `http://127.0.0.1:${bare.port}`;
  try {
    // Warm both up first (JIT, connection pools), so the first measured round is not the cold one.
    for (const target of [url, bareUrl]) await autocannon({ url: `${target}/virtual_balance`, connections: 50, duration: plan.warmUp });
    const throughput = { service: [] as number[], bare: [] as number[] };
    const paced = { service: [] as number[], bare: [] as number[] };
    for (let round = 0; round < plan.rounds; round++) {
      for (const [name, target] of [['service', url], ['bare', bareUrl]] as const) {
        const read = `GET ${name} /virtual_balance`;
        throughput[name].push(expectAllOk(await load({ url: `${target}/virtual_balance`, connections: 50 }), read).requests.average);
        paced[name].push(expectAllOk(await load({ url: `${target}/virtual_balance`, connections: 50, overallRate: 2000 }), read).latency.p99);
      }
    }
    record({ figure: 'GET throughput, 50 connections (req/s)', value: median(throughput.service), baseline: median(throughput.bare), unit: 'req/s', target: '≥ 0.85', met: (r) => r >= 0.85 });
    record({ figure: 'GET p99 at 2,000 req/s (ms)', value: median(paced.service), baseline: median(paced.bare), unit: 'ms', target: '≤ 1.5', met: (r) => r <= 1.5 });

    // The HTTP part of a POST's time: the same client's round trip to bare Express.
    const connection = new Connection();
    const roundTrips: number[] = [];
    for (let i = 0; i < plan.posts; i++) {
      const started = performance.now();
      roundTrips.push((await connection.send(`${bareUrl}/virtual_balance`)).at - started);
    }
    connection.close();
    return { roundTripMs: median(roundTrips) };
  } finally {
    await bare.stop();
  }
}
