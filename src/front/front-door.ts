// The front door: every request the HTTP server receives passes here once. Its framing is judged,
// its target reduced to a path, and it is claimed by the service's own routes or forwarded to the
// legacy backend — nothing else, and never both.

import type { IncomingMessage, RequestListener, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import type { Logger } from 'pino';
import { HttpError } from '../domain/errors.ts';
import { sendError } from '../http/errors.ts';
import { requestIdOf } from '../http/request-id.ts';
import { requestLogger } from '../http/request-log.ts';
import { authorityOf, originForm } from '../http/request-target.ts';
import { answerOverHttp } from './decline-upgrade.ts';
import type { Forwarder } from './forward.ts';
import { framingOf } from './framing.ts';
import { answerOnSocket, forwardWebSocket } from './websocket.ts';

export interface FrontDoorDeps {
  /** The URL to route an own request by, or null when the path is not the service's (http/own-routes.ts). */
  claim(url: string): string | null;
  /** The service's own routes; gets requests already claimed, their URL the canonical one. */
  own: (req: IncomingMessage, res: ServerResponse) => void;
  /** Present when UPSTREAM_URL is set. */
  forwarder?: Forwarder;
  logger: Logger;
}

export interface FrontDoor {
  request: RequestListener;
  /** For the HTTP server's `upgrade` event. */
  upgrade(req: IncomingMessage, socket: Socket, head: Buffer): void;
  /** Ends forwarded event streams and WebSockets, which never end by themselves. */
  close(): void;
}

const badTarget = () => new HttpError(400, 'the request target must be a path such as /virtual_balance');

export function frontDoor({ claim, own, forwarder, logger }: FrontDoorDeps): FrontDoor {
  const logRequest = requestLogger(logger);
  const tunnels = new Set<Duplex>();

  return {
    request(req, res) {
      takeAuthority(req);
      const target = originForm(req.url ?? '/');
      const owned = target === null ? null : claim(target);
      const forwarding = forwarder !== undefined && target !== null && owned === null;
      // A forwarded answer is written whole by the forwarder, X-Request-Id with the upstream's fields.
      const id = logRequest(req, res, req.url ?? '/', !forwarding);
      const framing = framingOf(req.rawHeaders);
      // Refused before anything reads its body; the connection closes after the answer (the error says so).
      if (framing instanceof HttpError || target === null) {
        if (forwarding) res.setHeader('X-Request-Id', id);
        return sendError(res, framing instanceof HttpError ? framing : badTarget());
      }
      if (!forwarding || forwarder === undefined) {
        // Express keeps an originalUrl it is given: the target as sent, which a redirect is judged by (a trailing slash).
        (req as IncomingMessage & { originalUrl?: string }).originalUrl = target;
        req.url = owned ?? target;
        return own(req, res);
      }
      req.url = target;
      forwarder.forward(req, res, framing, id);
    },

    upgrade(req, socket, head) {
      takeAuthority(req);
      const target = forwarder && req.headers.upgrade?.toLowerCase() === 'websocket' ? originForm(req.url ?? '/') : null;
      // Any other offer (h2c), or an own path: answered as the plain HTTP request it also is.
      if (!forwarder || target === null || claim(target) !== null) return answerOverHttp(req, socket, head);
      const framing = framingOf(req.rawHeaders);
      // A handshake has no body: bytes after it are WebSocket frames, once the upstream has agreed.
      if (framing instanceof HttpError || framing.body !== 'none') {
        const message = framing instanceof HttpError ? framing.message : 'a WebSocket handshake carries no body';
        return answerOnSocket(socket, 400, 'Bad Request', JSON.stringify({ status: 'error', message }), ['Content-Type', 'application/json']);
      }
      req.url = target;
      forwardWebSocket(forwarder.connections, req, socket, head, { id: requestIdOf(req.headers), timeoutMs: forwarder.timeoutMs, tunnels, log: logger });
    },

    close() {
      forwarder?.close();
      for (const socket of tunnels) socket.destroy();
    },
  };
}

/** An absolute-form target's authority replaces the Host field (RFC 9112 §3.2.2), for every check after. */
function takeAuthority(req: IncomingMessage): void {
  const authority = authorityOf(req.url ?? '/');
  if (authority !== null) req.headers.host = authority;
}
