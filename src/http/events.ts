// Server-Sent Events: one `balance` event per change, written to every client from one serialization.

import type { Request, Response } from 'express';

/**
 * What a client may leave unread in the service's own buffer before it is dropped (it reconnects by
 * itself, `retry:` 1 s, and gets the current balance at once). The kernel's socket buffers fill first
 * (a few MB per connection on Linux), so a client is dropped only once it has stopped reading for
 * good; this bounds what it costs the service, whatever the number of events.
 */
export const MAX_UNSENT_BYTES = 256 * 1024;

export class EventStream {
  private readonly clients = new Set<Response>();
  private readonly heartbeat: NodeJS.Timeout;

  constructor(
    heartbeatMs = 15_000,
    /** Told the number of connected clients whenever it changes. */
    private readonly onClients: (count: number) => void = () => {},
    /** Told when a client that stopped reading is dropped. */
    private readonly onDropped: (unsentBytes: number) => void = () => {},
  ) {
    this.heartbeat = setInterval(() => this.broadcast(': heartbeat\n\n'), heartbeatMs);
    this.heartbeat.unref();
  }

  get size(): number {
    return this.clients.size;
  }

  /** Opens a stream and sends the current body at once. */
  attach(req: Request, res: Response, current: { body: string; id: number }): void {
    res.status(200).set({
      'Content-Type': 'text/event-stream; charset=utf-8',
      'Cache-Control': 'no-cache, no-transform',
      Connection: 'keep-alive',
      'X-Accel-Buffering': 'no',
    });
    res.flushHeaders();
    // A client that loses the stream (a restart) reconnects after 1 s rather than the browser's default 3 s.
    res.write(`retry: ${RECONNECT_MS}\n${frame(current.body, current.id)}`);
    this.clients.add(res);
    this.onClients(this.clients.size);
    req.on('close', () => {
      this.clients.delete(res);
      this.onClients(this.clients.size);
    });
  }

  publish(body: string, id: number): void {
    this.broadcast(frame(body, id));
  }

  close(): void {
    clearInterval(this.heartbeat);
    for (const res of this.clients) res.end();
    this.clients.clear();
    this.onClients(0);
  }

  private broadcast(text: string): void {
    for (const res of this.clients) {
      if (res.writableLength <= MAX_UNSENT_BYTES) {
        res.write(text);
        continue;
      }
      // It stopped reading: what it has not read would otherwise grow with every event, without bound.
      this.clients.delete(res);
      this.onClients(this.clients.size);
      this.onDropped(res.writableLength);
      res.destroy();
    }
  }
}

const RECONNECT_MS = 1_000;

const frame = (body: string, id: number) => `id: ${id}\nevent: balance\ndata: ${body}\n\n`;
