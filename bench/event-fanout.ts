// Event-stream fan-out (issue 13): N clients on GET /virtual_balance/events, then sequential POSTs;
// for every client and POST, the time from the POST's answer reaching the poster to that client
// receiving the event with the POST's revision — and the server's RSS with N clients connected.

import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { launch } from './children.ts';
import { EventClients } from './event-clients.ts';
import { Connection } from './http-client.ts';
import { plan } from './plan.ts';
import { record } from './report.ts';
import { percentile, rssMiB, sleep } from './stats.ts';

const WARM_UP_POSTS = 3;
const PAUSE_MS = 50;
const DELIVERY_DEADLINE_MS = 5_000;

/** `clients` may be fewer than the plan's when the file-descriptor limit is lower: then the row is not met. */
export async function measureFanout(serverScript: string, work: string, clients: number, limitNote?: string): Promise<void> {
  const dataDir = join(work, 'fanout');
  await mkdir(dataDir);
  const service = await launch(serverScript, [], { DATA_DIR: dataDir });
  const url = `http://127.0.0.1:${service.port}/virtual_balance`;
  const poster = new Connection();
  let crowd: EventClients | undefined;
  try {
    const rssBefore = await rssMiB(service.pid);
    crowd = await EventClients.connect(`${url}/events`, clients);
    const latencies: number[] = [];
    const fromSend: number[] = [];
    const roundTrips: number[] = [];
    let expected = 0;
    let delivered = 0;
    for (let i = 0; i < WARM_UP_POSTS + plan.fanoutPosts; i++) {
      const sent = performance.now();
      const answer = await poster.send(url, 'POST', '{"delta":0.01}');
      if (answer.status !== 200) throw new Error(`POST answered ${answer.status}: ${answer.body}`);
      const { revision } = JSON.parse(answer.body) as { revision: number };
      const answeredAt = answer.at;
      await crowd.waitFor(revision, DELIVERY_DEADLINE_MS);
      const arrivals = crowd.arrivalsOf(revision);
      const measured = i >= WARM_UP_POSTS;
      expected += clients;
      for (const at of arrivals) {
        if (Number.isNaN(at)) continue;
        delivered++;
        if (!measured) continue;
        // Not clamped: an event that beat the POST's answer to this process counts as negative.
        latencies.push(at - answeredAt);
        fromSend.push(at - sent);
      }
      if (measured) roundTrips.push(answeredAt - sent);
      await sleep(PAUSE_MS);
    }
    const rss = await rssMiB(service.pid);
    const p99 = percentile(latencies, 99);
    const complete = delivered === expected && crowd.dropped === 0 && clients === plan.clients;
    const count = clients.toLocaleString('en');
    const early = latencies.filter((ms) => ms < 0).length;
    record({
      figure: `event fan-out to ${count} clients: p99 latency after the POST's answer (ms)`,
      value: p99,
      unit: 'ms',
      target: `≤ 50 ms, every event delivered`,
      met: (v) => v <= 50 && complete,
      note:
        `${delivered} of ${expected} events delivered (${WARM_UP_POSTS} warm-up POSTs + ${plan.fanoutPosts} measured, ${PAUSE_MS} ms apart), ${crowd.dropped} streams dropped; ` +
        `p50 ${percentile(latencies, 50).toFixed(2)} ms, max ${percentile(latencies, 100).toFixed(2)} ms; ${early} of ${latencies.length} arrived before the answer (kept negative, min ${percentile(latencies, 0).toFixed(2)} ms); ` +
        `from sending the POST: p99 ${percentile(fromSend, 99).toFixed(2)} ms; the POST's own round trip p50 ${percentile(roundTrips, 50).toFixed(2)} ms` +
        (limitNote ? `; ${limitNote}` : ''),
    });
    record({
      figure: `event fan-out: RSS with ${count} clients (MiB)`,
      value: rss,
      unit: 'MiB',
      target: 'informational',
      met: () => true,
      note: `${rssBefore.toFixed(1)} MiB before the clients connected`,
    });
  } finally {
    crowd?.close();
    poster.close();
    await service.stop();
  }
}
