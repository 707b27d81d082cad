// A crowd of Server-Sent Events clients in this process: plain node:http GETs, each stream parsed
// just enough to timestamp every event id as it arrives (the bench must not be the bottleneck).

import { Agent, get, type ClientRequest } from 'node:http';

const CONNECT_BATCH = 100;
const CONNECT_DEADLINE_MS = 15_000;

export class EventClients {
  /** revision → each client's arrival time (performance.now()), NaN until it arrives. */
  private readonly arrivals = new Map<number, Float64Array>();
  private readonly counts = new Map<number, number>();
  private readonly waiters = new Map<number, () => void>();
  private readonly requests: ClientRequest[] = [];
  private readonly agent = new Agent({ keepAlive: false, maxSockets: Infinity });
  private closing = false;
  /** Streams that ended or failed after they had connected. */
  dropped = 0;

  private constructor(readonly size: number) {}

  /** Opens `size` streams, a batch at a time, each connected once its first event arrived. */
  static async connect(url: string, size: number): Promise<EventClients> {
    const crowd = new EventClients(size);
    try {
      for (let first = 0; first < size; first += CONNECT_BATCH) {
        const batch = Array.from({ length: Math.min(CONNECT_BATCH, size - first) }, (_, i) => crowd.open(url, first + i));
        let timer: NodeJS.Timeout | undefined;
        const deadline = new Promise((_, reject) => {
          timer = setTimeout(() => reject(new Error(`event streams ${first}… did not connect within ${CONNECT_DEADLINE_MS} ms`)), CONNECT_DEADLINE_MS);
        });
        await Promise.race([Promise.all(batch), deadline]).finally(() => clearTimeout(timer));
      }
    } catch (error) {
      crowd.close();
      throw error;
    }
    return crowd;
  }

  /** Each client's arrival time of `revision`'s event (NaN: not arrived). */
  arrivalsOf(revision: number): Float64Array {
    let times = this.arrivals.get(revision);
    if (!times) {
      times = new Float64Array(this.size).fill(Number.NaN);
      this.arrivals.set(revision, times);
    }
    return times;
  }

  /** Resolves once every client has `revision`'s event, or after `timeoutMs`, with how many have it. */
  async waitFor(revision: number, timeoutMs: number): Promise<number> {
    if ((this.counts.get(revision) ?? 0) < this.size) {
      let timer: NodeJS.Timeout | undefined;
      await new Promise<void>((resolve) => {
        this.waiters.set(revision, resolve);
        timer = setTimeout(resolve, timeoutMs);
      });
      clearTimeout(timer);
      this.waiters.delete(revision);
    }
    return this.counts.get(revision) ?? 0;
  }

  close(): void {
    this.closing = true;
    for (const request of this.requests) request.destroy();
    this.agent.destroy();
  }

  private open(url: string, client: number): Promise<void> {
    return new Promise((resolve, reject) => {
      let connected = false;
      const request = get(url, { agent: this.agent }, (res) => {
        if (res.statusCode !== 200) {
          res.resume();
          return reject(new Error(`event stream answered ${res.statusCode}`));
        }
        res.setEncoding('utf8');
        let buffered = '';
        res.on('data', (chunk: string) => {
          const now = performance.now();
          buffered += chunk;
          for (let end = buffered.indexOf('\n\n'); end >= 0; end = buffered.indexOf('\n\n')) {
            const frame = buffered.slice(0, end);
            buffered = buffered.slice(end + 2);
            const id = eventId(frame);
            if (id === null) continue;
            this.arrive(client, id, now);
            if (!connected) {
              connected = true;
              resolve();
            }
          }
        });
        res.once('close', () => {
          if (connected && !this.closing) this.dropped++;
        });
      });
      request.once('error', (error) => {
        if (!connected) reject(error);
      });
      this.requests.push(request);
    });
  }

  private arrive(client: number, revision: number, at: number): void {
    const times = this.arrivalsOf(revision);
    if (!Number.isNaN(times[client] as number)) return;
    times[client] = at;
    const count = (this.counts.get(revision) ?? 0) + 1;
    this.counts.set(revision, count);
    if (count === this.size) this.waiters.get(revision)?.();
  }
}

/** The `id:` of one event frame, or null for a heartbeat comment. */
function eventId(frame: string): number | null {
  const line = frame.startsWith('id: ') ? 0 : frame.indexOf('\nid: ') + 1;
  if (line === 0 && !frame.startsWith('id: ')) return null;
  return Number.parseInt(frame.slice(line + 4, line + 24), 10);
}
