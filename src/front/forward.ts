// Forwards a request the service does not own to the legacy backend over undici (the client Node's
// own fetch is built on), streaming both ways, and adopts what a forwarded change wrote to the files
// before answering.
//
// Where "one request in, one request out" comes from:
// - framing.ts refuses every request whose length two parsers could read differently, before this;
// - the request that goes out is built here, from the parsed request: its method and target, its
//   end-to-end fields (headers.ts), and a length the service states itself — the Content-Length of
//   the body Node read, or chunked — written by undici, which also refuses to send a body that does
//   not match that length. Nothing the client wrote reaches the upstream socket as it was written;
// - a request with a body goes out on a connection of its own that closes after the answer, so an
//   upstream that answers without reading a body (the CL.0 flaw) cannot take it for a next request;
// - an upstream connection carries the requests of one client connection only (upstream-connections.ts),
//   one at a time: undici sends the next only after the previous exchange completed, and destroys a
//   connection that delivers bytes no request asked for — so an answer never reaches another client.

import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Dispatcher } from 'undici';
import type { Log } from '../domain/ports.ts';
import type { Framing } from './framing.ts';
import { forwardedRequestHeaders, relayedResponseHeaders } from './headers.ts';
import { UpstreamConnections } from './upstream-connections.ts';
import { failForwarded } from './upstream-error.ts';

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

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);
/** The connections to the legacy backend, and the way one request crosses them. */
export class Forwarder {
  readonly connections: UpstreamConnections;
  /** Answers that never end by themselves (event streams) are ended at shutdown. */
  private readonly streams = new Set<ServerResponse>();

  constructor(private readonly options: ForwardOptions) {
    this.connections = new UpstreamConnections(options.target, options.timeoutMs);
  }

  get timeoutMs(): number {
    return this.options.timeoutMs;
  }

  /** Forwards one request, already judged soundly framed; `id` is its request id, sent on as X-Request-Id. */
  forward(req: IncomingMessage, res: ServerResponse, framing: Framing, id: string): void {
    const { afterChange, observe, timeoutMs } = this.options;
    const started = performance.now();
    let controller: Dispatcher.DispatchController | null = null;
    let answered = false;
    let bodiless = false;
    let ended = false;
    // Every forwarded request is counted once, with what its client got (499: it went away first, as nginx counts it).
    let observed = false;
    const count = (status: number, seconds: number | null) => {
      if (!observed) observe?.(status, seconds);
      observed = true;
    };
    const stop = (reason: Error) => {
      if (controller) controller.abort(reason);
      else ended = true; // not on a connection yet: stopped as soon as it is
    };
    const fail = (status: 502 | 504 | 400, reason: string) => {
      if (!res.headersSent) res.setHeader('X-Request-Id', id);
      count(status, null);
      failForwarded(res, status, reason);
    };
    res.once('close', () => {
      // Counted only if it went out; one still waiting for a connection is stopped before it does.
      if (controller) count(499, null);
      // The client went away (or the answer ended): an unfinished exchange is not left on a pooled connection.
      if (!ended) stop(new Error('the client went away'));
    });

    const handler: Dispatcher.DispatchHandler = {
      onRequestStart: (control) => {
        controller = control;
        if (ended) control.abort(new Error('the client went away'));
      },
      onResponseStart: (control, statusCode, parsed, statusMessage) => {
        if (statusCode < 200) return; // 100, 103: nothing the client asked for
        answered = true;
        bodiless = statusCode === 204 || statusCode === 304 || req.method === 'HEAD';
        count(statusCode, (performance.now() - started) / 1000);
        const headers = relayedResponseHeaders(control.rawHeaders as Buffer[]);
        headers.push('X-Request-Id', id);
        const relay = () => {
          if (res.destroyed) return void control.abort(new Error('the client went away'));
          res.writeHead(statusCode, statusMessage ?? '', headers);
          // A streamed answer (no length: chunked, an event stream) shows its head at once, not with its first chunk.
          if (parsed['content-length'] === undefined) res.flushHeaders();
          if (String(parsed['content-type']).startsWith('text/event-stream')) {
            this.streams.add(res);
            res.once('close', () => this.streams.delete(res));
          }
          control.resume();
        };
        control.pause();
        // Read your writes: a change the legacy backend made to the files is adopted before its answer is relayed.
        if (SAFE_METHODS.has(req.method ?? 'GET')) relay();
        else afterChange().then(relay, relay);
      },
      onResponseData: (control, chunk) => {
        if (res.write(chunk)) return;
        control.pause();
        res.once('drain', () => control.resume());
      },
      onResponseEnd: () => {
        ended = true;
        res.end();
      },
      onResponseError: (_control, error) => {
        ended = true;
        if (res.writableEnded || res.destroyed) return;
        const code = (error as { code?: string }).code;
        // A 304 (or 204, or an answer to HEAD) may name the length its body would have had (RFC 9110
        // §8.6); undici counts the missing body as a short one. The answer is whole as it is.
        if (bodiless && code === 'UND_ERR_RES_CONTENT_LENGTH_MISMATCH' && res.headersSent) return void res.end();
        // An answer already under way cannot become an error envelope: cut it, so the client sees it is incomplete.
        if (answered || res.headersSent) return void res.destroy();
        if (code === 'UND_ERR_INVALID_ARG') return fail(400, error.message);
        if (code === 'UND_ERR_HEADERS_TIMEOUT' || code === 'UND_ERR_CONNECT_TIMEOUT') return fail(504, `no response headers within ${timeoutMs} ms`);
        fail(502, reasonOf(error));
      },
    };

    const method = req.method ?? 'GET';
    this.connections.for(req.socket).dispatch(
      {
        path: req.url ?? '/',
        method,
        headers: forwardedRequestHeaders(req, framing, id),
        body: framing.body === 'none' ? null : req,
        // A body gets a connection of its own (see the top of this file).
        reset: framing.body !== 'none',
      },
      handler,
    );
  }

  /** Ends forwarded answers that never end by themselves; other forwarded requests are left to finish. */
  close(): void {
    for (const res of this.streams) res.destroy();
    this.connections.close();
  }
}

/** Why the upstream did not answer, in a word or two: ECONNREFUSED, ECONNRESET, other side closed… */
export function reasonOf(error: Error): string {
  const cause = (error as { cause?: { code?: string } }).cause;
  const code = (error as { code?: string }).code;
  // undici asserts what a response must look like (a status line of 000, say): not a reason to show as such.
  if (code === 'ERR_ASSERTION' || cause?.code === 'ERR_ASSERTION') return 'an answer that is not HTTP';
  if (cause?.code) return cause.code;
  if (code && !code.startsWith('UND_ERR')) return code;
  return error.message;
}
