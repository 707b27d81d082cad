// Raw HTTP for attack tests: bytes written to a socket exactly as given, and everything that comes
// back until the server closes the connection.

import { createServer, type Server } from 'node:http';
import { connect, type AddressInfo, type Socket } from 'node:net';
import type { App } from '../../src/app.ts';

/** Writes `bytes` on a fresh connection and resolves with all the server sent once it closes it. */
export function exchange(port: number, bytes: string | Buffer, timeoutMs = 3_000): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1');
    let received = '';
    socket.setEncoding('latin1');
    socket.on('data', (chunk: string) => (received += chunk));
    socket.on('error', () => {}); // a reset after the answer is an answer too
    socket.on('close', () => resolve(received));
    socket.setTimeout(timeoutMs, () => {
      socket.destroy();
      reject(new Error(`the server did not close the connection within ${timeoutMs} ms; received so far:\n${received}`));
    });
    socket.write(bytes);
  });
}

/** The status codes of the answers in a raw HTTP/1.1 byte stream, in order. */
export const statusesOf = (received: string): number[] => [...received.matchAll(/^HTTP\/1\.1 (\d{3})/gm)].map((m) => Number(m[1]));

/** An app's listeners on a real socket on 127.0.0.1, wired as start.ts wires them; `close` also destroys upgraded sockets. */
export async function listenOn(app: Pick<App, 'app' | 'upgrade' | 'clientError' | 'connect'>): Promise<{ port: number; server: Server; close(): Promise<void> }> {
  const server = createServer(app.app);
  server.on('upgrade', app.upgrade);
  server.on('clientError', app.clientError);
  server.on('connect', (_req, socket) => app.connect(socket));
  const sockets = new Set<Socket>();
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
  });
  await new Promise<void>((ready) => server.listen(0, '127.0.0.1', ready));
  return {
    port: (server.address() as AddressInfo).port,
    server,
    close: () =>
      new Promise<void>((done) => {
        server.close(() => done());
        for (const socket of sockets) socket.destroy();
      }),
  };
}
