// Forwards every request the service does not own to the legacy backend (http-proxy-middleware),
// streaming both ways, and adopts what a forwarded change wrote to the files before answering. It
// works on Node's own request and response: forwarded requests never enter the Express app, whose
// per-request cost measured more than the forwarding itself.

import { Agent as HttpAgent, type ClientRequest, type IncomingHttpHeaders, type IncomingMessage, type ServerResponse } from 'node:http';
import { Agent as HttpsAgent } from 'node:https';
import type { Socket } from 'node:net';
import { createProxyMiddleware, proxyEventsPlugin } from 'http-proxy-middleware';
import type { Log } from '../domain/ports.ts';
import { sendError } from './errors.ts';
import { requestIdOf } from './request-id.ts';
import { UpstreamError } from './upstream-error.ts';

export interface ForwardOptions {
  /** The legacy backend's base URL. */
  target: string;
  /** No response headers by then: 504. An answer that has started is never cut. */
  timeoutMs: number;
  /** Adopts what the upstream wrote to the files; awaited before a change's answer is relayed. */
  afterChange: () => Promise<void>;
  /** Each forwarded request: the status its client got, and how long the upstream took to start its answer (null: it did not). */
  observe?: (status: number, upstreamSeconds: number | null) => void;
  log: Log;
}

export interface Forwarder {
  /** Forwards one request; `id` is its request id, sent on as X-Request-Id. */
  forward(req: IncomingMessage, res: ServerResponse, id: string): void;
  /** For the HTTP server's `upgrade` event: WebSockets to the legacy backend. */
  upgrade(req: IncomingMessage, socket: Socket, head: Buffer): void;
  /**
   * Ends what never ends by itself — forwarded event streams and WebSockets — so the server can close;
   * other forwarded requests are left to finish. Idle upstream connections close on their own.
   */
  close(): void;
}

interface InFlight {
  started: number;
  /** The upstream's status line and headers arrived: from then on, no error envelope can be the answer. */
  answered: boolean;
  timer: NodeJS.Timeout;
  proxyReq?: ClientRequest;
}

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);
const IDLE_UPSTREAM_MS = 1_000;

// RFC 9110 §7.6.1. Transfer-Encoding stays on requests: Node frames the body it streams by it.
const HOP_BY_HOP = ['connection', 'keep-alive', 'proxy-connection', 'te', 'trailer', 'upgrade'];
// Node has already answered `Expect: 100-continue` to our client; the body is on its way.
const MET_HERE = 'expect';

/** The fields the Connection field names, which are hop-by-hop too. */
const namedByConnection = (headers: IncomingHttpHeaders): string[] =>
  headers.connection ? headers.connection.split(',').map((name) => name.trim().toLowerCase()) : [];

function dropHopByHop(headers: IncomingHttpHeaders): void {
  for (const name of namedByConnection(headers)) delete headers[name];
  for (const name of HOP_BY_HOP) delete headers[name];
}

const inFlight = new WeakMap<ServerResponse, InFlight>();

export function createForwarder({ target, timeoutMs, afterChange, observe, log }: ForwardOptions): Forwarder {
  // Pooled connections: a new upstream connection per request costs more than the forwarding itself.
  // An idle one is dropped after 1 s, before the upstream drops it (gunicorn after 2 s, uvicorn 5 s):
  // a request sent on a connection the upstream is closing would fail with a 502 it did not earn.
  const agent = new (target.startsWith('https:') ? HttpsAgent : HttpAgent)({ keepAlive: true, scheduling: 'lifo', timeout: IDLE_UPSTREAM_MS });

  // What close() ends: a long answer the client follows (an event stream), and upgraded sockets.
  const streams = new Set<IncomingMessage>();
  const sockets = new Set<Socket>();

  const proxy = createProxyMiddleware({
    target,
    agent,
    xfwd: true,
    selfHandleResponse: true,
    // The default plugins log (a URL parsed per request, for a logger that does nothing), answer
    // errors in plain text and guard sockets: the handlers below do all of that for this service.
    ejectPlugins: true,
    plugins: [proxyEventsPlugin],
    on: {
      proxyReq: (proxyReq, _req, res) => {
        const forward = inFlight.get(res);
        if (forward) forward.proxyReq = proxyReq;
      },
      proxyRes: (proxyRes, req, res) => {
        const forward = inFlight.get(res);
        if (!forward || res.writableEnded || res.destroyed) return void proxyRes.destroy();
        forward.answered = true;
        clearTimeout(forward.timer);
        observe?.(proxyRes.statusCode ?? 0, (performance.now() - forward.started) / 1000);
        const relay = () => {
          // The client may have gone, or the upstream may have dropped its answer, while the files were adopted.
          if (res.destroyed || res.headersSent || proxyRes.destroyed) {
            proxyRes.destroy();
            res.destroy();
            return;
          }
          if (String(proxyRes.headers['content-type']).startsWith('text/event-stream')) {
            streams.add(proxyRes);
            res.once('close', () => streams.delete(proxyRes));
          }
          relayHead(proxyRes, res);
          // A client that goes away ends the upstream answer too, and the other way round (an answer
          // cut short upstream, or ended by close(), must look cut short to the client as well).
          proxyRes.once('error', () => res.destroy());
          proxyRes.once('close', () => proxyRes.complete || res.destroy());
          res.once('close', () => proxyRes.complete || proxyRes.destroy());
          proxyRes.pipe(res);
        };
        if (SAFE_METHODS.has(req.method ?? 'GET')) relay();
        else afterChange().then(relay, relay);
      },
      error: (error, req, target) => {
        if (!('setHeader' in target)) {
          log.warn({ url: req.url, reason: (error as NodeJS.ErrnoException).code ?? error.message }, 'a WebSocket to the legacy backend failed');
          return void failUpgrade(target);
        }
        const res = target as ServerResponse;
        const forward = inFlight.get(res);
        if (res.writableEnded) return;
        // An answer already under way cannot become an error envelope: cut it, so the client sees it is incomplete.
        if (res.headersSent || !forward || forward.answered) return void res.destroy();
        clearTimeout(forward.timer);
        observe?.(502, null);
        sendError(res, new UpstreamError(502, (error as NodeJS.ErrnoException).code ?? error.message));
      },
    },
  });

  const forward = (req: IncomingMessage, res: ServerResponse, id: string) => {
    dropHopByHop(req.headers);
    delete req.headers[MET_HERE];
    req.headers['x-request-id'] = id;
    const state: InFlight = {
      started: performance.now(),
      answered: false,
      timer: setTimeout(() => {
        state.proxyReq?.destroy();
        if (res.headersSent) return;
        observe?.(504, null);
        sendError(res, new UpstreamError(504, `no response headers within ${timeoutMs} ms`));
      }, timeoutMs),
    };
    inFlight.set(res, state);
    res.once('close', () => clearTimeout(state.timer));
    // http-proxy-middleware calls `next` only for what it cannot forward (a bad target): a 502 all the same.
    void proxy(req, res, (error?: unknown) => {
      clearTimeout(state.timer);
      if (!res.headersSent) sendError(res, new UpstreamError(502, error instanceof Error ? error.message : 'not forwarded'));
    });
  };

  return {
    forward,
    upgrade(req, socket, head) {
      const id = requestIdOf(req.headers);
      req.headers['x-request-id'] = id;
      log.info({ req: { id, method: req.method, url: req.url } }, `${req.method} ${req.url} upgraded to a WebSocket with the legacy backend`);
      sockets.add(socket);
      socket.once('close', () => sockets.delete(socket));
      proxy.upgrade(req, socket, head);
    },
    close() {
      for (const stream of streams) stream.destroy();
      for (const socket of sockets) socket.destroy();
    },
  };
}

/** The upstream's status line and headers, hop-by-hop ones aside; Node frames the body for our client. */
function relayHead(proxyRes: IncomingMessage, res: ServerResponse): void {
  const drop = new Set([...HOP_BY_HOP, ...namedByConnection(proxyRes.headers), 'transfer-encoding']);
  const headers = new Map<string, { name: string; values: string[] }>();
  const raw = proxyRes.rawHeaders;
  for (let i = 0; i + 1 < raw.length; i += 2) {
    const name = raw[i] as string;
    const key = name.toLowerCase();
    if (drop.has(key)) continue;
    const entry = headers.get(key) ?? { name, values: [] };
    entry.values.push(raw[i + 1] as string);
    headers.set(key, entry);
  }
  for (const { name, values } of headers.values()) res.setHeader(name, values.length === 1 ? (values[0] as string) : values);
  res.statusCode = proxyRes.statusCode ?? 502;
  if (proxyRes.statusMessage) res.statusMessage = proxyRes.statusMessage;
}

/** A WebSocket the upstream refused: a plain 502 if nothing was sent on the socket yet. */
function failUpgrade(socket: Socket): void {
  if (socket.destroyed) return;
  if (socket.bytesWritten > 0) return void socket.destroy();
  const body = JSON.stringify({ status: 'error', message: 'the legacy backend could not be reached' });
  socket.end(`HTTP/1.1 502 Bad Gateway\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`);
}
