// WebSocket upgrades to the legacy backend: the handshake forwarded through the pool, the two sockets
// joined only once the upstream has switched protocols (101), and a refusal relayed as it came.

import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import type { Socket } from 'node:net';
import type { Dispatcher, Pool } from 'undici';
import type { Log } from '../domain/ports.ts';
import { forwardedRequestHeaders, relayedResponseHeaders, withoutFields } from './headers.ts';
import { reasonOf } from './forward.ts';

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
export function forwardWebSocket(pool: Pool, req: IncomingMessage, client: Socket, early: Buffer, id: string, tunnels: Set<Duplex>, log: Log): void {
  client.pause();
  let controller: Dispatcher.DispatchController | null = null;
  let gone = false;
  client.once('close', () => {
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
      if (gone || client.bytesWritten > 0) return void client.destroy();
      log.warn({ req: { id, url: req.url }, upstream: reasonOf(error) }, 'a WebSocket to the legacy backend failed');
      answerOnSocket(client, 502, 'Bad Gateway', envelope(`the legacy backend could not be reached (${reasonOf(error)})`), ['Content-Type', 'application/json']);
    },
  };
  log.info({ req: { id, method: req.method, url: req.url } }, `${req.method} ${req.url} upgrading to a WebSocket with the legacy backend`);
  pool.dispatch({ path: req.url ?? '/', method: 'GET', headers: forwardedRequestHeaders(req, { body: 'none' }, id), upgrade: 'websocket' }, handler);
}
