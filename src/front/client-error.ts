// What a client hears when Node's own parser refuses its request (malformed framing, headers too
// large, too slow) or when it asks for a tunnel (CONNECT): an answer in the envelope, and the
// connection closed — never Node's bare 400, never silence.

import type { ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import type { Log } from '../domain/ports.ts';
import { answerOnSocket } from './websocket.ts';

const json = ['Content-Type', 'application/json'];
const envelope = (message: string) => JSON.stringify({ status: 'error', message });

/** For the HTTP server's `clientError` event. */
export function answerClientError(log: Log): (error: NodeJS.ErrnoException & { rawPacket?: Buffer }, socket: Duplex) => void {
  return (error, socket) => {
    // A client that reset the connection hears nothing; one that is still there gets an answer.
    if (error.code === 'ECONNRESET' || !socket.writable) return void socket.destroy();
    // The bytes after a request on this connection could not be read while that request's answer is
    // still on its way — being forwarded, streaming, or a refusal of our own. A 400 written now would
    // land inside that answer or take its place (and "nothing was forwarded" would be false). One
    // request in, one answer out: the answer is finished, then the connection closes; what could not
    // be read was no request, and gets none.
    const pending = (socket as Duplex & { _httpMessage?: ServerResponse | null })._httpMessage;
    if (pending && !pending.writableFinished) {
      log.warn({ code: error.code }, 'bytes the HTTP parser could not read followed a request whose answer is still on its way: closing the connection after it');
      pending.once('close', () => socket.destroy());
      return;
    }
    const [status, reason, message] =
      error.code === 'HPE_HEADER_OVERFLOW'
        ? [431, 'Request Header Fields Too Large', 'the request headers are too large']
        : error.code === 'ERR_HTTP_REQUEST_TIMEOUT'
          ? [408, 'Request Timeout', 'the request did not arrive in time']
          : [400, 'Bad Request', `the request is not valid HTTP/1.1 (${error.code ?? 'malformed'}); nothing was forwarded`];
    log.warn({ code: error.code, status }, 'refused a request the HTTP parser could not read');
    answerOnSocket(socket, status, reason, envelope(message), json);
  };
}

/** For the HTTP server's `connect` event: the service opens no tunnels. */
export function refuseConnect(socket: Duplex): void {
  answerOnSocket(socket, 405, 'Method Not Allowed', envelope('CONNECT is not supported: balance-sync opens no tunnels'), [...json, 'Allow', 'GET, HEAD, POST']);
}
