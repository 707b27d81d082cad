// Requests that ask to switch protocols but that the service will not switch (an own path, h2c from
// `curl --http2`, no upstream): handed back to the HTTP server as the plain requests they also are.

import type { IncomingMessage, Server } from 'node:http';
import type { Socket } from 'node:net';

// The offer to switch, which is declined by answering in HTTP/1.1 (RFC 9110 §7.8).
const OFFER = new Set(['upgrade', 'connection', 'http2-settings']);

/**
 * Node hands every request with an `Upgrade` header to the server's `upgrade` listener, once there is
 * one, and detaches the connection from HTTP: the request's body is never read. So the request head is
 * written again without the offer, put back in front of what the socket has not delivered yet, and
 * the connection is given to the server anew (its documented way to inject one): the request is then
 * parsed, body and all, and answered as any other, keep-alive and shutdown included.
 */
export function answerOverHttp(req: IncomingMessage, socket: Socket, head: Buffer): void {
  const server = (socket as Socket & { server?: Server }).server;
  if (!server) return void socket.destroy();
  const lines = [`${req.method} ${req.url} HTTP/${req.httpVersion}`];
  for (let i = 0; i + 1 < req.rawHeaders.length; i += 2) {
    const name = req.rawHeaders[i] as string;
    if (!OFFER.has(name.toLowerCase())) lines.push(`${name}: ${req.rawHeaders[i + 1]}`);
  }
  socket.unshift(Buffer.concat([Buffer.from(`${lines.join('\r\n')}\r\n\r\n`, 'latin1'), head]));
  server.emit('connection', socket);
}
