// Requests that ask to switch protocols but that the service will not switch (an own path, h2c from
// `curl --http2`, no upstream): answered as the plain HTTP/1.1 requests they also are.

import { ServerResponse, type IncomingMessage, type RequestListener } from 'node:http';
import type { Socket } from 'node:net';

/**
 * Node hands every request with an `Upgrade` header to the server's `upgrade` listener once there is
 * one, detached from its HTTP parser: the answer is written by hand, then the connection closes.
 */
export function answerOverHttp(app: RequestListener, req: IncomingMessage, socket: Socket): void {
  delete req.headers.upgrade;
  const res = new ServerResponse(req);
  res.shouldKeepAlive = false;
  res.assignSocket(socket);
  res.once('finish', () => {
    res.detachSocket(socket);
    socket.destroySoon();
  });
  app(req, res);
}
