// Whether the legacy backend accepts connections, for /health: asked at most once a second, and
// never a reason for the service itself to be unready.

import { connect } from 'node:net';

export interface UpstreamStatus {
  url: string;
  reachable: boolean;
  checked_at: string;
  error?: string;
}

const PROBE_TIMEOUT_MS = 1_000;
const FRESH_MS = 1_000;

export class UpstreamProbe {
  private last: { atMs: number; status: Promise<UpstreamStatus> } | null = null;

  constructor(private readonly url: string) {}

  status(): Promise<UpstreamStatus> {
    const now = Date.now();
    // Concurrent health checks share one probe.
    if (!this.last || now - this.last.atMs > FRESH_MS) this.last = { atMs: now, status: this.probe() };
    return this.last.status;
  }

  private probe(): Promise<UpstreamStatus> {
    const { hostname, port, protocol } = new URL(this.url);
    const host = hostname.replace(/^\[(.*)\]$/, '$1');
    const answer = (error?: string): UpstreamStatus => ({
      url: this.url,
      reachable: error === undefined,
      checked_at: new Date().toISOString(),
      ...(error !== undefined && { error }),
    });
    return new Promise((resolve) => {
      const socket = connect({ host, port: Number(port) || (protocol === 'https:' ? 443 : 80) });
      socket.setTimeout(PROBE_TIMEOUT_MS, () => socket.destroy(new Error(`no connection within ${PROBE_TIMEOUT_MS} ms`)));
      socket.once('connect', () => {
        socket.destroy();
        resolve(answer());
      });
      socket.once('error', (error: NodeJS.ErrnoException) => resolve(answer(error.code ?? error.message)));
    });
  }
}
