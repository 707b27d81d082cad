// WebSocket upgrades to the legacy backend: the handshake forwarded on a connection of its own, the two sockets
// joined only once the upstream has switched protocols (101), and a refusal relayed as it came.

import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import type { Socket } from 'node:net';
import type { Dispatcher } from 'undici';
import type { Log } from '../domain/ports.ts';
import { forwardedRequestHeaders, relayedResponseHeaders, withoutFields } from './headers.ts';
import { reasonOf } from './forward.ts';
import type { UpstreamConnections } from './upstream-connections.ts';

/** A refusal is a small answer; anything larger is not a refusal worth keeping whole. */
const MAX_REFUSAL_BYTES = 64 * 1024;

const head = (status: number, message: string, headers: readonly string[]) => {
  let text = `HTTP/1.1 ${status} ${message}\r\n`;
  for (let i = 0; i + 1 < headers.length; i += 2) text += `${headers[i]}: ${headers[i + 1]}\r\n`;
  return `${text}\r\n`;
};

/** Answers on a socket no HTTP server writes to any more, and closes it. */
export function answerOnSocket(socket: Duplex, status: number, message: string, body: string | Buffer, headers: readonly string[] = []): void {
  if (socket.destroyed) return;
  const bytes = typeof body === 'string' ? Buffer.from(body) : body;
  socket.end(Buffer.concat([Buffer.from(head(status, message, [...headers, 'Content-Length', String(bytes.length), 'Connection', 'close']), 'latin1'), bytes]));
}

const envelope = (message: string) => JSON.stringify({ status: 'error', message });

/**
 * Bytes the client sends before the switch wait in its paused socket: nothing reaches the upstream
 * until it has answered 101 (undici hands over the socket only then), so a client cannot talk HTTP to
 * the upstream over a "tunnel" the upstream never agreed to.
 */
export function forwardWebSocket(
  connections: UpstreamConnections,
  req: IncomingMessage,
  client: Socket,
  early: Buffer,
  { id, timeoutMs, tunnels, log }: { id: string; timeoutMs: number; tunnels: Set<Duplex>; log: Log },
): void {
  client.pause();
  let controller: Dispatcher.DispatchController | null = null;
  let gone = false;
  // undici times out no handshake: no answer by the deadline is a 504, as for any forwarded request.
  const deadline = setTimeout(() => {
    log.warn({ req: { id, url: req.url }, upstream: 'the legacy backend did not answer in time' }, 'a WebSocket to the legacy backend failed');
    answerOnSocket(client, 504, 'Gateway Timeout', envelope(`the legacy backend did not answer in time (no response headers within ${timeoutMs} ms)`), ['Content-Type', 'application/json']);
    controller?.abort(new Error('timed out'));
  }, timeoutMs);
  client.once('close', () => {
    clearTimeout(deadline);
    gone = true;
    controller?.abort(new Error('the client went away'));
  });
  client.on('error', () => client.destroy());

  let refusal: { status: number; message: string; headers: string[]; chunks: Buffer[]; size: number } | null = null;
  const handler: Dispatcher.DispatchHandler = {
    onRequestStart: (control) => {
      controller = control;
      if (gone) control.abort(new Error('the client went away'));
    },
    onRequestUpgrade: (control, _statusCode, _headers, upstream) => {
      clearTimeout(deadline);
      if (gone) return void upstream.destroy();
      tunnels.add(client);
      client.once('close', () => tunnels.delete(client));
      const raw = control.rawHeaders as Buffer[];
      const headers: string[] = [];
      for (let i = 0; i + 1 < raw.length; i += 2) headers.push((raw[i] as Buffer).toString('latin1'), (raw[i + 1] as Buffer).toString('latin1'));
      client.write(head(101, 'Switching Protocols', headers), 'latin1');
      if (early.length > 0) upstream.write(early);
      upstream.on('error', () => client.destroy());
      upstream.once('close', () => client.destroy());
      client.once('close', () => upstream.destroy());
      upstream.pipe(client);
      client.pipe(upstream);
      client.resume();
    },
    onResponseStart: (control, statusCode, _headers, statusMessage) => {
      if (statusCode < 200) return;
      clearTimeout(deadline);
      // Its length is the one the buffered body is sent with.
      const headers = withoutFields(relayedResponseHeaders(control.rawHeaders as Buffer[]), new Set(['content-length']));
      refusal = { status: statusCode, message: statusMessage ?? '', headers, chunks: [], size: 0 };
    },
    onResponseData: (control, chunk) => {
      if (!refusal) return;
      refusal.size += chunk.length;
      if (refusal.size > MAX_REFUSAL_BYTES) return void control.abort(new Error('refusal too large'));
      refusal.chunks.push(chunk);
    },
    onResponseEnd: () => {
      if (refusal) answerOnSocket(client, refusal.status, refusal.message, Buffer.concat(refusal.chunks), refusal.headers);
    },
    onResponseError: (_control, error) => {
      clearTimeout(deadline);
      if (gone || client.bytesWritten > 0) return void client.destroy();
      const code = (error as { code?: string }).code;
      const timedOut = code === 'UND_ERR_HEADERS_TIMEOUT' || code === 'UND_ERR_CONNECT_TIMEOUT';
      const message = timedOut ? 'the legacy backend did not answer in time' : `the legacy backend could not be reached (${reasonOf(error)})`;
      log.warn({ req: { id, url: req.url }, upstream: message }, 'a WebSocket to the legacy backend failed');
      if (timedOut) answerOnSocket(client, 504, 'Gateway Timeout', envelope(message), ['Content-Type', 'application/json']);
      else answerOnSocket(client, 502, 'Bad Gateway', envelope(message), ['Content-Type', 'application/json']);
    },
  };
  log.info({ req: { id, method: req.method, url: req.url } }, `${req.method} ${req.url} upgrading to a WebSocket with the legacy backend`);
  // A connection of its own: once switched, it is the tunnel's, not a connection to send requests on.
  const { client: upstreamClient, done } = connections.single();
  upstreamClient.dispatch(
    { path: req.url ?? '/', method: 'GET', headers: forwardedRequestHeaders(req, { body: 'none' }, id), upgrade: 'websocket' },
    {
      ...handler,
      onRequestUpgrade: (...args) => {
        handler.onRequestUpgrade?.(...args);
        done();
      },
      onResponseEnd: (...args) => {
        handler.onResponseEnd?.(...args);
        done();
      },
      onResponseError: (...args) => {
        handler.onResponseError?.(...args);
        done();
      },
    },
  );
}
