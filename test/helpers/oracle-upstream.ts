// An upstream that logs every request it parses: the oracle of the smuggling tests. Its parser is
// deliberately as lenient as the worst of real back ends — it is the victim a front door must
// protect, so it believes whatever framing it is shown:
// - it ignores Content-Length on GET, HEAD, OPTIONS, DELETE and TRACE (the CL.0 flaw);
// - with both Content-Length and Transfer-Encoding it believes Content-Length (TE.CL);
// - any Transfer-Encoding that mentions "chunked" is chunked (TE.TE), and it accepts obs-fold and a
//   space before a field's colon;
// - it keeps parsing whatever follows on a connection, except after `Connection: close`.

import { createServer, type Socket } from 'node:net';
import type { AddressInfo } from 'node:net';

export interface ParsedRequest {
  method: string;
  target: string;
  headers: Record<string, string>;
  body: string;
  /** Which upstream connection it came on (1, 2, …). */
  connection: number;
}

export interface OracleUpstream {
  url: string;
  /** Every request parsed so far, in order. */
  parsed: ParsedRequest[];
  /** Bytes received that did not (yet) make a whole request, over all connections. */
  unparsedBytes(): number;
  close(): Promise<void>;
}

const BODILESS = new Set(['GET', 'HEAD', 'OPTIONS', 'DELETE', 'TRACE']);

/** One request from the front of `data`, or null while it is incomplete. */
function parseOne(data: Buffer): { request: Omit<ParsedRequest, 'connection'>; used: number } | null {
  const headEnd = data.indexOf('\r\n\r\n');
  if (headEnd < 0) return null;
  const lines = data.toString('latin1', 0, headEnd).split('\r\n');
  const [method = '', target = ''] = (lines.shift() ?? '').split(' ');
  const headers: Record<string, string> = {};
  let last = '';
  for (const line of lines) {
    if (/^[ \t]/.test(line) && last) headers[last] += ` ${line.trim()}`; // obs-fold
    else {
      const colon = line.indexOf(':');
      if (colon < 0) continue;
      last = line.slice(0, colon).trim().toLowerCase();
      const value = line.slice(colon + 1).trim();
      headers[last] = last in headers ? `${headers[last]}, ${value}` : value;
    }
  }
  let at = headEnd + 4;
  const length = Number.parseInt(headers['content-length'] ?? '', 10);
  let body = '';
  if (BODILESS.has(method.toUpperCase())) {
    // CL.0: no body, whatever the fields say.
  } else if (Number.isFinite(length)) {
    if (data.length < at + length) return null;
    body = data.toString('latin1', at, at + length);
    at += length;
  } else if (/chunked/i.test(headers['transfer-encoding'] ?? '')) {
    for (;;) {
      const sizeEnd = data.indexOf('\r\n', at);
      if (sizeEnd < 0) return null;
      const size = Number.parseInt(data.toString('latin1', at, sizeEnd), 16);
      if (!Number.isFinite(size)) return { request: { method, target, headers, body }, used: data.length };
      if (data.length < sizeEnd + 2 + size + 2) return null;
      body += data.toString('latin1', sizeEnd + 2, sizeEnd + 2 + size);
      at = sizeEnd + 2 + size + 2;
      if (size === 0) break;
    }
  }
  return { request: { method, target, headers, body }, used: at };
}

/** `slowMs`: requests for /slow… are answered after that long, the others at once; /twice… are answered three times. */
export async function startOracleUpstream({ slowMs = 300 } = {}): Promise<OracleUpstream> {
  const parsed: ParsedRequest[] = [];
  const pending = new Map<Socket, Buffer>();
  let connections = 0;

  const server = createServer((socket) => {
    const connection = ++connections;
    let closing = false;
    pending.set(socket, Buffer.alloc(0));
    socket.on('error', () => socket.destroy());
    socket.on('close', () => pending.delete(socket));
    socket.on('data', (chunk) => {
      if (closing) return;
      let data = Buffer.concat([pending.get(socket) ?? Buffer.alloc(0), chunk]);
      // Every whole request in what arrived is parsed before anything is answered.
      const answers: { body: string; close: boolean; slow: boolean; twice: boolean }[] = [];
      for (let one = parseOne(data); one && !closing; one = parseOne(data)) {
        data = data.subarray(one.used);
        const request = { ...one.request, connection };
        parsed.push(request);
        closing = /close/i.test(request.headers.connection ?? '');
        answers.push({ body: JSON.stringify({ answered: request.target, n: parsed.length }), close: closing, slow: request.target.startsWith('/slow'), twice: request.target.startsWith('/twice') });
      }
      pending.set(socket, closing ? Buffer.alloc(0) : data);
      // Answers go out in order, a slow one holding up those behind it, as on any HTTP/1.1 connection.
      let chain = Promise.resolve();
      for (const answer of answers) {
        chain = chain.then(async () => {
          if (answer.slow) await new Promise((resolve) => setTimeout(resolve, slowMs));
          if (socket.destroyed) return;
          socket.write(`HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: ${Buffer.byteLength(answer.body)}\r\n${answer.close ? 'connection: close\r\n' : ''}\r\n${answer.body}`);
          // A back end that answers once too often: a second answer nobody asked for, now and a little later.
          if (answer.twice) {
            const extra = '{"answered":"POISON"}';
            const poison = `HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: ${extra.length}\r\n\r\n${extra}`;
            socket.write(poison);
            setTimeout(() => socket.destroyed || socket.write(poison), 5);
          }
          if (answer.close) socket.end();
        });
      }
    });
  });
  await new Promise<void>((ready) => server.listen(0, '127.0.0.1', ready));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    parsed,
    unparsedBytes: () => [...pending.values()].reduce((sum, data) => sum + data.length, 0),
    close: () =>
      new Promise<void>((done) => {
        for (const socket of pending.keys()) socket.destroy();
        server.close(() => done());
      }),
  };
}
