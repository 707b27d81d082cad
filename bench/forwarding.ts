// Forwarding to the legacy backend (issue 17): a forwarded GET's throughput against a minimal pooled
// node:http proxy to the same upstream, the p99 it adds at a steady 500 req/s over calling the upstream
// directly, and nginx beside them for reference. Throughput comes from a load generator in a process
// of its own, shown not to be the limit: it drives the upstream directly at 3× the forwarded rate.

import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { launch } from './children.ts';
import { loadGenerator, requestsPerSecond } from './load-generator.ts';
import { startNginx } from './nginx.ts';
import { plan } from './plan.ts';
import { record } from './report.ts';
import { median, percentile } from './stats.ts';
import { steadyLatencies } from './steady-load.ts';

const PACED_RATE = 500;
const PATH = '/trades/recent';

async function answer(url: string): Promise<string> {
  const res = await fetch(url);
  return `${res.status} ${await res.text()}`;
}

const forwardedSoFar = async (upstreamUrl: string) => (await (await fetch(`${upstreamUrl}/_upstream/forwarded`)).json()) as { connections: number; requests: number };
const list = (values: number[], digits = 0) => values.map((v) => v.toFixed(digits)).join(', ');

export async function measureForwarding(serverScript: string, work: string): Promise<void> {
  const upstream = await launch(join(import.meta.dirname, 'upstream.js'));
  const upstreamUrl = `http://127.0.0.1:${upstream.port}`;
  const dataDir = join(work, 'forwarding');
  await mkdir(dataDir);
  const service = await launch(serverScript, [], { DATA_DIR: dataDir, UPSTREAM_URL: upstreamUrl });
  const minimal = await launch(join(import.meta.dirname, 'minimal-proxy.js'), [], { UPSTREAM_URL: upstreamUrl });
  const undiciMinimal = await launch(join(import.meta.dirname, 'minimal-undici-proxy.js'), [], { UPSTREAM_URL: upstreamUrl });
  const nginx = await startNginx(work, upstream.port);
  const targets: Record<string, string> = {
    direct: `${upstreamUrl}${PATH}`,
    forwarded: `http://127.0.0.1:${service.port}${PATH}`,
    minimal: `http://127.0.0.1:${minimal.port}${PATH}`,
    undiciMinimal: `http://127.0.0.1:${undiciMinimal.port}${PATH}`,
    ...(nginx && { nginx: `http://127.0.0.1:${nginx.port}${PATH}` }),
  };
  try {
    const direct = await answer(targets.direct as string);
    for (const [name, url] of Object.entries(targets)) {
      const got = await answer(url);
      if (got !== direct || !direct.startsWith('200 ')) throw new Error(`${name} is not transparent: got ${got}, the upstream says ${direct}`);
    }
    for (const url of Object.values(targets)) await requestsPerSecond(url, 50, Math.max(1, Math.round(plan.warmUp)));

    const throughput: Record<string, number[]> = Object.fromEntries(Object.keys(targets).map((name) => [name, []]));
    const p99 = { direct: [] as number[], forwarded: [] as number[], minimal: [] as number[] };
    for (let round = 0; round < plan.rounds; round++) {
      // Alternating within each round, so that a slow minute of the machine weighs on all alike.
      for (const [name, url] of Object.entries(targets)) throughput[name]?.push(await requestsPerSecond(url));
      for (const name of ['direct', 'forwarded', 'minimal'] as const) p99[name].push(percentile(await steadyLatencies(targets[name] as string, PACED_RATE), 99));
    }
    const rate = (name: string) => median(throughput[name] ?? []);
    const pool = await forwardedSoFar(upstreamUrl);
    record({
      figure: 'forwarded GET throughput, 50 connections (req/s)',
      value: rate('forwarded'),
      baseline: rate('minimal'),
      unit: 'req/s',
      target: '≥ 1.5',
      met: (r) => r >= 1.5,
      note:
        `baseline: a minimal pooled node:http proxy (bench/minimal-proxy.ts) to the same upstream; load: ${loadGenerator}; rounds (req/s): ` +
        `forwarded ${list(throughput.forwarded ?? [])}, minimal ${list(throughput.minimal ?? [])}, minimal undici ${list(throughput.undiciMinimal ?? [])}` +
        `${nginx ? `, nginx ${list(throughput.nginx ?? [])}` : ''}; ${pool.requests} forwarded requests reached the upstream on ${pool.connections} connections`,
    });
    record({
      figure: 'load generator headroom: the upstream called directly (req/s)',
      value: rate('direct'),
      baseline: rate('forwarded'),
      unit: 'req/s',
      target: '≥ 3',
      met: (r) => r >= 3,
      note: `the same load generator on the upstream directly (rounds: ${list(throughput.direct ?? [])}): below 3× the forwarded rate, the forwarded figure would be the generator's`,
    });
    record({
      figure: 'minimal undici proxy GET throughput, for reference (req/s)',
      value: rate('undiciMinimal'),
      baseline: rate('minimal'),
      unit: 'req/s',
      target: 'none (reference)',
      met: () => true,
      note:
        'bench/minimal-undici-proxy.ts: one undici Pool, no checks, no framing of its own — what undici alone gains over the node:http baseline on this machine, ' +
        'the ceiling to read the forwarded row against (its ratio is undici-minimal / node:http-minimal)',
    });
    if (nginx) {
      record({
        figure: 'nginx proxy_pass GET throughput, for reference (req/s)',
        value: rate('nginx'),
        baseline: rate('forwarded'),
        unit: 'req/s',
        target: 'none (reference)',
        met: () => true,
        note: 'one nginx worker, keep-alive upstream (bench/nginx.ts); the ratio is nginx / balance-sync',
      });
    }
    const [directP99, forwardedP99, minimalP99] = [median(p99.direct), median(p99.forwarded), median(p99.minimal)];
    const added = forwardedP99 - directP99;
    const minimalAdded = minimalP99 - directP99;
    record({
      figure: `forwarded GET p99 at ${PACED_RATE} req/s, added over calling the upstream directly (ms)`,
      value: added,
      baseline: directP99,
      ratio: false,
      unit: 'ms',
      target: '≤ 2 ms, and ≤ 1 ms above the minimal proxy',
      met: () => added <= 2 && added - minimalAdded <= 1,
      note:
        `p99 forwarded ${forwardedP99.toFixed(2)} ms, minimal proxy ${minimalP99.toFixed(2)} ms (adds ${minimalAdded.toFixed(2)} ms), direct ${directP99.toFixed(2)} ms (baseline column); ` +
        `a steady open loop, each GET timed from when it was due; rounds (ms): forwarded ${list(p99.forwarded, 2)}, minimal ${list(p99.minimal, 2)}, direct ${list(p99.direct, 2)}`,
    });
  } finally {
    await Promise.all([service.stop(), minimal.stop(), undiciMinimal.stop(), nginx?.stop()]);
    await upstream.stop();
  }
}
