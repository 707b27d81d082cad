// Connections to the legacy backend, each bound to one client connection: what one client sends can
// only ever be answered to that client.
//
// A pool shares a kept-alive upstream connection among all clients. Then a backend that answers once
// too often — its own bug, or a request it took from a body (CL.0) — hands that extra answer to
// whichever client's request goes out next on the connection, and no HTTP/1.1 proxy can tell: the
// extra answer may arrive after the next request was sent. Bound to one client connection (HAProxy's
// `http-reuse never`), an upstream connection carries only that client's requests, in its order, so a
// misbehaving exchange can confuse no one but the client that caused it. Kept-alive clients (the
// dashboard, a browser, wrk's 50 connections) still reuse their upstream connection for every request.

import type { Socket } from 'node:net';
import { createRequire } from 'node:module';
import type { Client } from 'undici';

/**
 * Idle upstream connections are closed after 1 s, before the upstream closes them (gunicorn after 2 s,
 * uvicorn 5 s): a request sent on a connection the upstream is closing fails with a 502 it did not earn.
 */
const IDLE_UPSTREAM_MS = 1_000;

export class UpstreamConnections {
  private readonly bound = new Map<Socket, Client>();
  private readonly singles = new Set<Client>();

  constructor(
    private readonly target: string,
    private readonly timeoutMs: number,
  ) {
    undici(); // at start-up, not at the first forwarded request
  }

  /** The upstream connection of this client connection, opened by its first forwarded request. */
  for(socket: Socket): Client {
    let client = this.bound.get(socket);
    if (!client) {
      const made = this.open();
      this.bound.set(socket, made);
      socket.once('close', () => {
        this.bound.delete(socket);
        void made.destroy().catch(() => {});
      });
      client = made;
    }
    return client;
  }

  /** A connection for one exchange (a WebSocket handshake, which takes the connection over); `done` closes it. */
  single(): { client: Client; done(): void } {
    const client = this.open();
    this.singles.add(client);
    return {
      client,
      done: () => {
        this.singles.delete(client);
        void client.close().catch(() => {});
      },
    };
  }

  close(): void {
    for (const client of [...this.bound.values(), ...this.singles]) void client.destroy().catch(() => {});
    this.bound.clear();
    this.singles.clear();
  }

  private open(): Client {
    return new (undici().Client)(this.target, {
      keepAliveTimeout: IDLE_UPSTREAM_MS,
      keepAliveMaxTimeout: IDLE_UPSTREAM_MS,
      // No response headers in time: 504. A started answer is never timed out (an event stream is quiet for minutes).
      headersTimeout: this.timeoutMs,
      connectTimeout: this.timeoutMs,
      bodyTimeout: 0,
      pipelining: 1,
    });
  }
}

/**
 * undici, loaded when the first forwarder is made (with UPSTREAM_URL) rather than with the service:
 * one that forwards nothing never pays the ~15 MiB it costs. (CommonJS, so required synchronously.)
 */
let loaded: typeof import('undici') | undefined;
const undici = (): typeof import('undici') => (loaded ??= createRequire(import.meta.url)('undici') as typeof import('undici'));
