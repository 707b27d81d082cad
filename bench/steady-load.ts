// A steady load: one GET every 1/rate seconds, whatever the answers do (an open loop), each timed from
// when it was due — so a pause of the server shows in every request it delays, not hidden by a
// client that waits. autocannon's `overallRate` sends each connection's share of a second in a burst.

import { Agent, get } from 'node:http';
import { plan } from './plan.ts';

export async function steadyLatencies(url: string, rate: number): Promise<number[]> {
  const agent = new Agent({ keepAlive: true, maxSockets: 256 });
  const total = Math.round(rate * plan.seconds);
  const interval = 1000 / rate;
  const latencies: number[] = [];
  const started = performance.now();
  try {
    await new Promise<void>((done, fail) => {
      let sent = 0;
      let answered = 0;
      const tick = () => {
        for (const now = performance.now(); sent < total && started + sent * interval <= now; sent++) {
          const due = started + sent * interval;
          get(url, { agent }, (res) => {
            if (res.statusCode !== 200) fail(new Error(`steady GET ${url} answered ${res.statusCode}`));
            res.resume().once('end', () => {
              latencies.push(performance.now() - due);
              if (++answered === total) done();
            });
          }).once('error', fail);
        }
        if (sent < total) setTimeout(tick, 1);
      };
      tick();
    });
  } finally {
    agent.destroy();
  }
  return latencies;
}
