// The soak's clients: API deltas that retry until acknowledged (the same Idempotency-Key, so nothing
// counts twice across a kill -9), a crowd of event-stream clients, and forwarded requests.

import { Agent, get, request, type ClientRequest } from 'node:http';
import { sleep } from './stats.ts';

const agent = new Agent({ keepAlive: true, maxSockets: 64 });

function call(url: string, method: string, body?: string, headers: Record<string, string> = {}): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method, agent, headers: { 'content-type': 'application/json', ...headers } }, (res) => {
      res.resume();
      res.once('end', () => resolve(res.statusCode ?? 0));
    });
    req.once('error', reject);
    req.setTimeout(10_000, () => req.destroy(new Error('timed out')));
    req.end(body);
  });
}

export class DeltaClients {
  /** Deltas answered 200 (each key once). */
  acked = 0;
  /** Answers by status other than 200, and requests that met no server (a restart). */
  readonly statuses = new Map<number, number>();
  unreachable = 0;

  constructor(private readonly url: () => string) {}

  /** `clients` loops, each posting `{"delta": 1}` every ~`gapMs`, retrying each until it is answered 200. */
  run(clients: number, gapMs: number, stop: () => boolean): Promise<void> {
    return Promise.all(
      Array.from({ length: clients }, async (_, client) => {
        for (let n = 0; !stop(); n++) {
          const key = `soak-${client}-${n}`;
          for (;;) {
            const status = await call(`${this.url()}/virtual_balance`, 'POST', '{"delta": 1}', { 'Idempotency-Key': key }).catch(() => 0);
            if (status === 200) break;
            if (status === 0) this.unreachable++;
            else this.statuses.set(status, (this.statuses.get(status) ?? 0) + 1);
            await sleep(50);
          }
          this.acked++;
          await sleep(gapMs);
        }
      }),
    ).then(() => undefined);
  }
}

/** Event-stream clients that reconnect when their stream ends; `stalled` of them stop reading once connected. */
export class EventCrowd {
  events = 0;
  reconnects = 0;
  private readonly requests = new Set<ClientRequest>();
  private closing = false;

  constructor(private readonly url: () => string) {}

  open(clients: number, stalled: number): void {
    for (let i = 0; i < clients; i++) this.connect(i < stalled);
  }

  close(): void {
    this.closing = true;
    for (const req of this.requests) req.destroy();
  }

  private connect(stalls: boolean): void {
    if (this.closing) return;
    const again = () => {
      this.requests.delete(req);
      if (this.closing) return;
      this.reconnects++;
      setTimeout(() => this.connect(stalls), 1_000).unref();
    };
    const req = get(`${this.url()}/virtual_balance/events`, (res) => {
      if (stalls) {
        res.pause(); // never reads again: the service must not buffer for it without bound
        res.socket.once('close', again);
        return;
      }
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (this.events += chunk.split('\nevent: balance\n').length - 1));
      res.once('close', again);
    });
    req.once('error', again);
    this.requests.add(req);
  }
}

/** GETs of a route the legacy backend owns, through the service: counted by status class. */
export async function forwardLoop(url: () => string, ratePerSecond: number, stop: () => boolean, counts: Map<string, number>): Promise<void> {
  while (!stop()) {
    const status = await call(`${url()}/trades/recent`, 'GET').catch(() => 0);
    const label = status === 0 ? 'unreachable' : `${Math.floor(status / 100)}xx`;
    counts.set(label, (counts.get(label) ?? 0) + 1);
    await sleep(1_000 / ratePerSecond);
  }
}
