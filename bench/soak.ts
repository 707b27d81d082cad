// `npm run soak` (not in CI): everything at once against the real server for `--minutes N` (default
// 10): API deltas from 8 clients, a legacy read-modify-write toggler, a stalling legacy writer, 200
// event-stream clients (5 stop reading), forwarded traffic to a stand-in upstream, and a kill -9 and
// restart every 2 minutes. It reports acknowledged vs applied deltas, stalled writes served vs lost,
// the 503s, and RSS and open files per minute; it exits 1 when a target is missed.

import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { launch, stopAll } from './children.ts';
import { DeltaClients, EventCrowd, forwardLoop } from './soak-clients.ts';
import { LegacyProcess } from './soak-legacy.ts';
import { freePort, SoakService } from './soak-service.ts';
import { sleep } from './stats.ts';

const minutesAt = process.argv.indexOf('--minutes');
const minutes = minutesAt < 0 ? 10 : Number(process.argv[minutesAt + 1]);
if (!(minutes > 0)) throw new Error('--minutes takes a number of minutes');
const KILL_EVERY_MS = 120_000;

const work = await mkdtemp(join(tmpdir(), 'balance-sync-soak-'));
const data = join(work, 'data');
await mkdir(data);
await writeFile(join(data, 'auto_trading_state.json'), JSON.stringify({ enabled: false, symbol: 'BTCUSDT', balance: 10000, trade_log: [] }, null, 2));

const upstream = await launch(join(import.meta.dirname, 'upstream.js'));
const service = new SoakService(join(import.meta.dirname, '..', 'src', 'server.js'), await freePort(), {
  DATA_DIR: data,
  UPSTREAM_URL: `http://127.0.0.1:${upstream.port}`,
});
await service.start();
const balance = async (): Promise<number> => ((await (await fetch(`${service.url}/virtual_balance`)).json()) as { balance: number }).balance;
const startBalance = await balance();

let stopping = false;
const stop = () => stopping;
const url = () => service.url;
const deltas = new DeltaClients(url);
const crowd = new EventCrowd(url);
const legacy = new LegacyProcess(data, service.url);
const forwarded = new Map<string, number>();
crowd.open(200, 5);
const running = Promise.all([deltas.run(8, 250, stop), legacy.run(stop), forwardLoop(url, 20, stop, forwarded)]);

const started = performance.now();
const samples: { minute: number; rss: number; fds: number }[] = [];
const sampler = setInterval(() => {
  const minute = Math.floor((performance.now() - started) / 60_000) + 1;
  if (minute <= minutes) void service.sample().then((sample) => sample && samples.push({ minute, ...sample }));
}, 5_000);

const ends = started + minutes * 60_000;
for (let nextKill = started + KILL_EVERY_MS; performance.now() < ends; ) {
  await sleep(1_000);
  // No kill in the last 15 s: the last minute is measured on a service that has been up a while.
  if (performance.now() < nextKill || performance.now() > ends - 15_000) continue;
  // Between stalled rounds: a kill in the middle of one is the crash case, not this one (BENCHMARKS.md).
  while (legacy.stalling) await sleep(20);
  await service.crashAndRestart();
  process.stderr.write(`soak: kill -9 and restart ${service.restarts} at ${((performance.now() - started) / 60_000).toFixed(1)} min\n`);
  nextKill += KILL_EVERY_MS;
}
stopping = true;
await running;
crowd.close();
clearInterval(sampler);
const applied = Math.round((await balance()) - startBalance);

const byMinute = [...new Set(samples.map((s) => s.minute))].sort((a, b) => a - b).map((minute) => {
  const of = samples.filter((s) => s.minute === minute);
  return { minute, rss: of.reduce((sum, s) => sum + s.rss, 0) / of.length, fds: of.reduce((sum, s) => sum + s.fds, 0) / of.length };
});
const second = byMinute.find((m) => m.minute === 2);
const last = byMinute.at(-1);
const within = (key: 'rss' | 'fds') => (second && last && last !== second ? Math.abs(last[key] - second[key]) / second[key] <= 0.1 : null);
const served = legacy.rounds.filter((r) => r.servedAfterMs !== null && r.servedAfterMs < 1_000).length;
const late = legacy.rounds.filter((r) => r.servedAfterMs !== null && r.servedAfterMs >= 1_000).length;
const lost = legacy.rounds.filter((r) => r.servedAfterMs === null).length;
const slowest = Math.max(0, ...legacy.rounds.map((r) => r.servedAfterMs ?? 0));
const count503 = deltas.statuses.get(503) ?? 0;
const yes = (met: boolean | null) => (met === null ? 'n/a' : met ? 'yes' : '**no**');

const rows = [
  ['acknowledged deltas (each `+1`, retried with its key until answered 200)', String(deltas.acked), '= applied', yes(deltas.acked === applied)],
  ['applied deltas (final balance − start)', String(applied), '= acknowledged', yes(deltas.acked === applied)],
  ['stalled writes (0.3–4.5 s, either file): served within 1 s / later / lost', `${served} / ${late} / ${lost} of ${legacy.rounds.length} (slowest ${slowest.toFixed(0)} ms)`, '0 lost', yes(lost === 0)],
  ['503 answers to deltas', String(count503), 'informational', '—'],
  ['other non-200 answers to deltas', JSON.stringify(Object.fromEntries([...deltas.statuses].filter(([s]) => s !== 503))), 'none', yes([...deltas.statuses].every(([s]) => s === 503))],
  ['requests that met no server (during restarts)', String(deltas.unreachable), 'informational', '—'],
  ['kill -9 and restart', String(service.restarts), `every ${KILL_EVERY_MS / 60_000} min`, '—'],
  ['legacy toggles (read-modify-write every ~20 ms)', String(legacy.toggles), 'informational', '—'],
  ['events received by 195 reading clients (5 stopped reading); stream reconnects', `~${crowd.events} ; ${crowd.reconnects}`, 'informational', '—'],
  ['forwarded GETs by answer', JSON.stringify(Object.fromEntries(forwarded)), 'informational', '—'],
  ['RSS, last minute vs second (MiB)', `${last?.rss.toFixed(1)} vs ${second?.rss.toFixed(1)}`, 'within 10 %', yes(within('rss'))],
  ['open files, last minute vs second', `${last?.fds.toFixed(1)} vs ${second?.fds.toFixed(1)}`, 'within 10 %', yes(within('fds'))],
];
const table = [
  `Soak of ${minutes} min, Node.js ${process.version}:`,
  '',
  '| figure | value | target | met |',
  '|---|---:|---|---|',
  ...rows.map((r) => `| ${r.join(' | ')} |`),
  '',
  '| minute | RSS (MiB, mean) | open files (mean) |',
  '|---:|---:|---:|',
  ...byMinute.map((m) => `| ${m.minute} | ${m.rss.toFixed(1)} | ${m.fds.toFixed(1)} |`),
  '',
  ...legacy.rounds.filter((r) => r.servedAfterMs === null).map((r) => `Not served: ${r.tick} (${r.file}, stall ${r.stallMs} ms), its write ended at ${(r.endedAtMs / 1000).toFixed(1)} s.`),
  `Restarts at: ${service.restartsAt.map((ms) => `${(ms / 1000).toFixed(1)} s`).join(', ')}.`,
  '',
  'Lines the service logged at warn or above, by message:',
  '',
  ...[...service.warnings].sort((a, b) => b[1] - a[1]).map(([msg, n]) => `- ${n} × ${msg}`),
].join('\n');
process.stdout.write(`${table}\n`);
await mkdir(join(import.meta.dirname, '..', '..', 'bench', 'results'), { recursive: true });
await writeFile(join(import.meta.dirname, '..', '..', 'bench', 'results', 'soak.md'), `${table}\n`);

await service.stop();
await stopAll();
await rm(work, { recursive: true, force: true });
const missed = deltas.acked !== applied || lost > 0 || within('rss') === false || within('fds') === false;
process.exit(missed ? 1 : 0);
