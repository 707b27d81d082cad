// Forwarding to the legacy backend (issue 10): a forwarded GET's throughput against the service's
// own GET in the same process, and the p99 forwarding adds over calling the upstream directly.

import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import autocannon from 'autocannon';
import { launch } from './children.ts';
import { expectAllOk, load } from './load.ts';
import { plan } from './plan.ts';
import { record } from './report.ts';
import { median, percentile } from './stats.ts';
import { steadyLatencies } from './steady-load.ts';

const upstreamScript = join(import.meta.dirname, 'upstream.js');
const PACED_RATE = 500;

async function answer(url: string): Promise<string> {
  const res = await fetch(url);
  return `${res.status} ${await res.text()}`;
}

const forwardedSoFar = async (upstreamUrl: string) => (await (await fetch(`${upstreamUrl}/_upstream/forwarded`)).json()) as { connections: number; requests: number };

export async function measureForwarding(serverScript: string, work: string): Promise<void> {
  const upstream = await launch(upstreamScript);
  const upstreamUrl = `http://127.0.0.1:${upstream.port}`;
  const dataDir = join(work, 'forwarding');
  await mkdir(dataDir);
  const service = await launch(serverScript, [], { DATA_DIR: dataDir, UPSTREAM_URL: upstreamUrl });
  const url = `http://127.0.0.1:${service.port}`;
  const targets = { forwarded: `${url}/trades/recent`, own: `${url}/virtual_balance`, direct: `${upstreamUrl}/trades/recent` };
  try {
    const [forwarded, direct] = await Promise.all([answer(targets.forwarded), answer(targets.direct)]);
    if (forwarded !== direct || !direct.startsWith('200 ')) throw new Error(`forwarding is not transparent: got ${forwarded}, the upstream says ${direct}`);

    for (const target of Object.values(targets)) await autocannon({ url: target, connections: 50, duration: plan.warmUp });
    const throughput = { forwarded: [] as number[], own: [] as number[] };
    const p99 = { forwarded: [] as number[], direct: [] as number[] };
    for (let round = 0; round < plan.rounds; round++) {
      for (const name of ['forwarded', 'own'] as const) {
        throughput[name].push(expectAllOk(await load({ url: targets[name], connections: 50 }), `GET ${name}`).requests.average);
      }
      for (const name of ['forwarded', 'direct'] as const) p99[name].push(percentile(await steadyLatencies(targets[name], PACED_RATE), 99));
    }
    const pool = await forwardedSoFar(upstreamUrl);
    const rounds = (values: number[]) => values.map((v) => v.toFixed(2)).join(', ');
    record({
      figure: 'forwarded GET throughput, 50 connections (req/s)',
      value: median(throughput.forwarded),
      baseline: median(throughput.own),
      unit: 'req/s',
      target: '≥ 0.5',
      met: (r) => r >= 0.5,
      note:
        `baseline: the service's own GET /virtual_balance; rounds (req/s): forwarded ${rounds(throughput.forwarded)}, own ${rounds(throughput.own)}; ` +
        `${pool.requests} forwarded requests reached the upstream on ${pool.connections} connections`,
    });
    const forwardedP99 = median(p99.forwarded);
    const directP99 = median(p99.direct);
    record({
      figure: `forwarded GET p99 at ${PACED_RATE} req/s, added over calling the upstream directly (ms)`,
      value: forwardedP99 - directP99,
      baseline: directP99,
      ratio: false,
      unit: 'ms',
      target: '≤ 5 ms',
      met: (added) => added <= 5,
      note: `p99 forwarded ${forwardedP99.toFixed(2)} ms − direct ${directP99.toFixed(2)} ms (baseline column: direct), a steady open loop, each GET timed from when it was due; rounds (ms): forwarded ${rounds(p99.forwarded)}, direct ${rounds(p99.direct)}`,
    });
  } finally {
    await service.stop();
    await upstream.stop();
  }
}
