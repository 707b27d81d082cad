// `npm run bench`: measures the built service against baselines run on the same machine in the
// same run, and prints every figure as a ratio to its baseline. `--quick` is a short smoke run;
// `--only small,big,forwarding,fanout,across-hosts` runs some sections (across-hosts needs a
// PostgreSQL: BALANCE_SYNC_TEST_DATABASE_URL, else the tests' default); BENCH_SERVER=<path to server.js>
// measures another build of the service (an experiment) against the same baselines.

import { rmSync } from 'node:fs';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { measureAcrossHosts } from './across-hosts.ts';
import { measureBigState } from './big-state.ts';
import { launch, stopAll } from './children.ts';
import { measureFanout } from './event-fanout.ts';
import { measureForwarding } from './forwarding.ts';
import { affordableClients } from './open-files.ts';
import { measureOutsideEdits } from './outside-edits.ts';
import { partial, plan, quick, runs } from './plan.ts';
import { measureReads } from './reads.ts';
import { record, report } from './report.ts';
import { rssMiB } from './stats.ts';
import { measureWrites } from './writes.ts';

// First: it may run the bench again under a higher file-descriptor limit.
const fanout = runs('fanout') ? affordableClients(plan.clients) : null;

const serverScript = process.env.BENCH_SERVER ?? join(import.meta.dirname, '..', 'src', 'server.js');
const work = await mkdtemp(join(tmpdir(), 'balance-sync-bench-'));
// Ctrl-C ends the run through process.exit (children.ts): the temp folder goes too.
process.once('exit', () => rmSync(work, { recursive: true, force: true, maxRetries: 3 }));

try {
  if (runs('small')) {
    // Reads, writes and outside edits on one small state, in one service process.
    const small = join(work, 'small');
    await mkdir(small);
    const service = await launch(serverScript, [], { DATA_DIR: small });
    const url = `http://127.0.0.1:${service.port}`;
    const idleRss = await rssMiB(service.pid);
    const { roundTripMs } = await measureReads(url);
    await measureWrites(url, small, work, roundTripMs);
    await measureOutsideEdits(url, small);
    record({ figure: 'idle RSS (MiB)', value: idleRss, unit: 'MiB', target: '≤ 80 MiB', met: (v) => v <= 80 });
    await service.stop();
  }
  if (runs('big')) await measureBigState(serverScript, work);
  if (runs('forwarding')) await measureForwarding(serverScript, work);
  if (fanout) await measureFanout(serverScript, work, fanout.clients, fanout.note);
  if (runs('across-hosts')) await measureAcrossHosts(serverScript, work);
} finally {
  await stopAll();
  await rm(work, { recursive: true, force: true });
}

await report(quick, partial);
