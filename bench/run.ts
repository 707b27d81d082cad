// `npm run bench`: measures the built service against baselines run on the same machine in the
// same run, and prints every figure as a ratio to its baseline. `--quick` is a short smoke run.

import { spawn } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import autocannon from 'autocannon';
import writeFileAtomic from 'write-file-atomic';
import { durableFloorMs, plainRewriteMs } from './durable-floor.ts';

const quick = process.argv.includes('--quick');
const plan = quick
  ? { seconds: 1, rounds: 1, posts: 15, edits: 5, bigSaves: 3 }
  : { seconds: 6, rounds: 3, posts: 100, edits: 30, bigSaves: 15 };

interface Child {
  port: number;
  pid: number;
  readyMs: number;
  stop(): Promise<void>;
}

const children = new Set<Child>();

async function launch(script: string, args: string[], env: Record<string, string> = {}): Promise<Child> {
  const started = performance.now();
  const child = spawn(process.execPath, [script, ...args], {
    env: { PATH: process.env.PATH ?? '', PORT: '0', LOG_LEVEL: 'info', ...env },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const port = await new Promise<number>((resolve, reject) => {
    createInterface({ input: child.stdout }).on('line', (line) => {
      try {
        const entry = JSON.parse(line) as { port?: unknown; msg?: unknown };
        if (typeof entry.port === 'number' && String(entry.msg).includes('listening')) resolve(entry.port);
      } catch {
        // not a log line
      }
    });
    void exited.then(() => reject(new Error(`${script} exited before listening`)));
  });
  const launched: Child = {
    port,
    pid: child.pid as number,
    readyMs: performance.now() - started,
    async stop() {
      children.delete(launched);
      child.kill('SIGTERM');
      await exited;
    },
  };
  children.add(launched);
  return launched;
}

/** Waits until the revision stops moving: requests a load generator left in flight have landed. */
async function quiesce(url: string): Promise<void> {
  let last = -1;
  for (;;) {
    const { revision } = (await (await fetch(`${url}/virtual_balance`)).json()) as { revision: number };
    if (revision === last) return;
    last = revision;
    await new Promise((resolve) => setTimeout(resolve, 300));
  }
}

const median = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor((sorted.length - 1) / 2)] as number;
};
const percentile = (values: number[], p: number) => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] as number;
};
const rssMiB = async (pid: number) => {
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  return Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0) / 1024;
};
const load = (options: autocannon.Options) => autocannon({ ...options, duration: options.amount ? undefined : plan.seconds } as autocannon.Options);

async function timedPosts(url: string, count: number, body: (i: number) => unknown): Promise<number[]> {
  const samples: number[] = [];
  for (let i = 0; i < count; i++) {
    const started = performance.now();
    const res = await fetch(url, { method: 'POST', body: JSON.stringify(body(i)) });
    await res.text();
    if (res.status !== 200) throw new Error(`POST answered ${res.status}`);
    samples.push(performance.now() - started);
  }
  return samples;
}

interface Row {
  figure: string;
  value: number;
  baseline: number | null;
  unit: string;
  ratio: number | null;
  target: string;
  met: boolean;
}

const rows: Row[] = [];
function record(figure: string, value: number, baseline: number | null, unit: string, target: string, met: (ratio: number) => boolean) {
  const ratio = baseline === null ? null : value / baseline;
  rows.push({ figure, value, baseline, unit, ratio, target, met: met(ratio ?? value) });
}

const serverScript = join(import.meta.dirname, '..', 'src', 'server.js');
const bareScript = join(import.meta.dirname, 'bare-express.js');
const work = await mkdtemp(join(tmpdir(), 'balance-sync-bench-'));

try {
  // --- Small state: reads, writes, outside edits ---------------------------------------------
  const small = join(work, 'small');
  await mkdir(small);
  const service = await launch(serverScript, [], { DATA_DIR: small });
  const url = `http://127.0.0.1:${service.port}`;
  const idleRss = await rssMiB(service.pid);
  const body = await (await fetch(`${url}/virtual_balance`)).text();
  const bare = await launch(bareScript, [body]);
  const bareUrl = `http://127.0.0.1:${bare.port}`;

  // Warm both up first (JIT, connection pools), so the first measured round is not the cold one.
  for (const target of [url, bareUrl]) await autocannon({ url: `${target}/virtual_balance`, connections: 50, duration: 1 });
  const throughput = { service: [] as number[], bare: [] as number[] };
  const paced = { service: [] as number[], bare: [] as number[] };
  for (let round = 0; round < plan.rounds; round++) {
    for (const [name, target] of [['service', url], ['bare', bareUrl]] as const) {
      throughput[name].push((await load({ url: `${target}/virtual_balance`, connections: 50 })).requests.average);
      paced[name].push((await load({ url: `${target}/virtual_balance`, connections: 50, overallRate: 2000 })).latency.p99);
    }
  }
  record('GET throughput, 50 connections (req/s)', median(throughput.service), median(throughput.bare), 'req/s', '≥ 0.85', (r) => r >= 0.85);
  record('GET p99 at 2,000 req/s (ms)', median(paced.service), median(paced.bare), 'ms', '≤ 1.5', (r) => r <= 1.5);
  const roundTrips: number[] = [];
  for (let i = 0; i < plan.posts; i++) {
    const started = performance.now();
    await (await fetch(`${bareUrl}/virtual_balance`)).text();
    roundTrips.push(performance.now() - started);
  }
  const roundTrip = median(roundTrips);
  await bare.stop();

  const sizes = {
    balanceFile: (await readFile(join(small, 'virtual_balance.json'))).length,
    tradingFile: (await readFile(join(small, 'auto_trading_state.json'))).length,
  };
  const floorDir = join(work, 'floor');
  await mkdir(floorDir);
  const floor = median(await durableFloorMs(floorDir, sizes, plan.posts));
  const postP50 = median(await timedPosts(`${url}/virtual_balance`, plan.posts, () => ({ delta: 0.01 })));
  record('POST p50, 1 writer (ms)', postP50, floor, 'ms', '≤ 1.3 × durable floor', (r) => r <= 1.3);
  // The floor is disk work only; a POST also crosses HTTP. This is the same client's round trip to bare Express.
  record('POST p50, 1 writer, over durable floor + HTTP round trip (ms)', postP50, floor + roundTrip, 'ms', 'informational', () => true);

  const post = { method: 'POST' as const, body: '{"delta":0.01}', url: `${url}/virtual_balance` };
  const one = (await load({ ...post, connections: 1 })).requests.average;
  const many = (await load({ ...post, connections: 32 })).requests.average;
  record('POST throughput, 32 writers vs 1 (req/s)', many, one, 'req/s', '≥ 8×', (r) => r >= 8);
  await quiesce(url);

  const edits: number[] = [];
  for (let i = 0; i < plan.edits; i++) {
    const balance = 5000 + i;
    const started = performance.now();
    await writeFileAtomic(join(small, 'auto_trading_state.json'), JSON.stringify({ balance, enabled: true }));
    for (;;) {
      const served = (await (await fetch(`${url}/virtual_balance`)).json()) as { balance: number };
      if (served.balance === balance) break;
      if (performance.now() - started > 5_000) throw new Error(`an outside edit to ${balance} was not served within 5 s`);
      await new Promise((resolve) => setTimeout(resolve, 2));
    }
    edits.push(performance.now() - started);
    await new Promise((resolve) => setTimeout(resolve, 150));
  }
  record('outside edit → served, p50 (ms)', percentile(edits, 50), null, 'ms', 'informational', () => true);
  record('outside edit → served, p95 (ms)', percentile(edits, 95), null, 'ms', '≤ 300 ms', (v) => v <= 300);
  record('idle RSS (MiB)', idleRss, null, 'MiB', '≤ 80 MiB', (v) => v <= 80);
  await service.stop();

  // --- A 10 MB trading state -----------------------------------------------------------------
  const big = join(work, 'big');
  await mkdir(big);
  const trade = (i: number) => ({ id: i, symbol: 'BTCUSDT', side: i % 2 ? 'buy' : 'sell', qty: 0.015, price: 64_000 + i, pnl: ((i % 200) - 100) / 7, at: '2026-11-23T10:00:00Z' });
  const tradeLog = Array.from({ length: 70_000 }, (_, i) => trade(i));
  const state = JSON.stringify({ enabled: true, symbol: 'BTCUSDT', balance: 10000, open_trades: [], trade_log: tradeLog }, null, 2);
  await writeFile(join(big, 'auto_trading_state.json'), state);
  await writeFile(join(big, 'virtual_balance.json'), JSON.stringify({ balance: 10000 }));
  const bigService = await launch(serverScript, [], { DATA_DIR: big });
  const bigUrl = `http://127.0.0.1:${bigService.port}`;
  const bigSave = median(await timedPosts(`${bigUrl}/virtual_balance`, plan.bigSaves, (i) => ({ balance: 20_000 + i })));
  const bigRss = await rssMiB(bigService.pid);
  await bigService.stop();
  const restarted = await launch(serverScript, [], { DATA_DIR: big });
  const readyMs = restarted.readyMs;
  await restarted.stop();
  const copy = join(work, 'plain-rewrite.json');
  await writeFile(copy, state);
  const plain = median(await plainRewriteMs(copy, plan.bigSaves));
  record(`10 MB state (${(state.length / 1e6).toFixed(1)} MB): save p50 (ms)`, bigSave, plain, 'ms', '≤ 1.5 × plain durable rewrite', (r) => r <= 1.5);
  record('10 MB state: ready after start (ms)', readyMs, null, 'ms', '≤ 1,000 ms', (v) => v <= 1000);
  record('10 MB state: RSS after saves (MiB)', bigRss, null, 'MiB', 'informational', () => true);
} finally {
  await Promise.all([...children].map((child) => child.stop()));
  await rm(work, { recursive: true, force: true });
}

const fmt = (n: number | null) => (n === null ? '—' : n >= 100 ? n.toFixed(0) : n.toFixed(2));
const table = [
  '| figure | balance-sync | baseline | ratio | target | met |',
  '|---|---:|---:|---:|---|---|',
  ...rows.map((r) => `| ${r.figure} | ${fmt(r.value)} | ${fmt(r.baseline)} | ${r.ratio === null ? '—' : `${r.ratio.toFixed(2)}×`} | ${r.target} | ${r.met ? 'yes' : '**no**'} |`),
].join('\n');
process.stdout.write(`\nbalance-sync benchmark${quick ? ' (quick)' : ''} — node ${process.version}\n\n${table}\n`);
const out = join(import.meta.dirname, '..', '..', 'bench', 'results');
await mkdir(out, { recursive: true });
await writeFile(join(out, quick ? 'quick.json' : 'latest.json'), JSON.stringify({ at: new Date().toISOString(), quick, node: process.version, rows }, null, 2));
process.stdout.write(`\n(written to bench/results/${quick ? 'quick' : 'latest'}.json)\n`);
