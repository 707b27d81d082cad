// A stand-in for the legacy Python backend that balance-sync fronts: the routes it forwards there,
// the legacy's own copies of the balance routes (never to be reached through balance-sync), and the
// legacy way of saving the data files. By hand: `npx -y node@24 test/helpers/legacy-backend.ts`
// (PORT, default 8002; DATA_DIR, default ./data; TRADING_STATE_FILE, BALANCE_FILE; CACHE_STATE=1).

import { createHash } from 'node:crypto';
import { EventEmitter } from 'node:events';
import { open, readFile } from 'node:fs/promises';
import { createServer, type IncomingHttpHeaders, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { WebSocketServer } from 'ws';

export interface LegacyBackendOptions {
  dataDir: string;
  /** 0 (the default) picks a free port. */
  port?: number;
  tradingFile?: string;
  balanceFile?: string;
  /**
   * Like the real app: the trading state is read from the file once, at first use, and that copy
   * (with the balance and `_balance_sync` it held then) is what every later write puts back.
   */
  cacheState?: boolean;
}

export interface ReceivedRequest {
  method: string;
  /** Path and query, as received. */
  url: string;
  headers: IncomingHttpHeaders;
}

export interface LegacyBackend {
  url: string;
  port: number;
  /** Every request it received, in order, WebSocket upgrades included. */
  requests: ReceivedRequest[];
  /** Lets the held-back rest of every open /chunked and /events answer go out. */
  release(): void;
  /** Closes, destroying open connections and WebSockets. Safe to call twice. */
  stop(): Promise<void>;
}

type Handler = (req: IncomingMessage, res: ServerResponse, body: Buffer, query: URLSearchParams) => void | Promise<void>;

/** What the legacy's own balance routes answer: if a client ever sees it, balance-sync forwarded one. */
export const LEGACY_MARKER = { status: 'success', served_by: 'legacy', balance: 1 } as const;

const sha256 = (bytes: Buffer | string) => createHash('sha256').update(bytes).digest('hex');

function send(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(text)), ...headers });
  res.end(text);
}

/** How the legacy backend saves: open('w') truncates, json.dump writes, close. No temp file, no fsync. */
async function writeLikeLegacy(path: string, value: unknown): Promise<void> {
  const handle = await open(path, 'w');
  try {
    await handle.writeFile(JSON.stringify(value, null, 2));
  } finally {
    await handle.close();
  }
}

/** A minimal multipart/form-data reading: each part's name, file name, size and hash. */
function formParts(body: Buffer, contentType: string | undefined) {
  const match = /boundary=(?:"([^"]+)"|([^;\s]+))/i.exec(contentType ?? '');
  if (!match) return [];
  const delimiter = Buffer.from(`--${match[1] ?? match[2]}`);
  const next = Buffer.concat([Buffer.from('\r\n'), delimiter]);
  const parts: { name?: string; filename?: string; size: number; sha256: string }[] = [];
  for (let at = body.indexOf(delimiter); at >= 0 && body.toString('latin1', at + delimiter.length, at + delimiter.length + 2) === '\r\n'; ) {
    const headEnd = body.indexOf('\r\n\r\n', at);
    const end = body.indexOf(next, headEnd);
    if (headEnd < 0 || end < 0) break;
    const head = body.toString('latin1', at, headEnd);
    const content = body.subarray(headEnd + 4, end);
    const name = /[;\s]name="([^"]*)"/.exec(head)?.[1];
    const filename = /filename="([^"]*)"/.exec(head)?.[1];
    parts.push({ ...(name !== undefined && { name }), ...(filename !== undefined && { filename }), size: content.length, sha256: sha256(content) });
    at = end + 2;
  }
  return parts;
}

export async function startLegacyBackend(options: LegacyBackendOptions): Promise<LegacyBackend> {
  const requests: ReceivedRequest[] = [];
  const tradingPath = join(options.dataDir, options.tradingFile ?? 'auto_trading_state.json');
  const balancePath = join(options.dataDir, options.balanceFile ?? 'virtual_balance.json');
  const held = new EventEmitter().setMaxListeners(0);
  let cached: Record<string, unknown> | undefined;

  const loadState = async (): Promise<Record<string, unknown>> => {
    if (options.cacheState && cached) return cached;
    let state: Record<string, unknown>;
    try {
      state = JSON.parse(await readFile(tradingPath, 'utf8'));
    } catch {
      state = { enabled: false, balance: 10000.0 };
    }
    if (options.cacheState) cached = state;
    return state;
  };

  /** Answers with a first part now and the rest once the test calls release(). */
  const holdUntilRelease = (res: ServerResponse, rest: () => void) => {
    held.once('release', rest);
    res.on('close', () => held.off('release', rest));
  };

  const legacyOwn: Handler = async (req, res) => {
    // What the legacy's own POSTs did: rewrite the sidebar's file, the legacy way.
    if (req.method === 'POST') await writeLikeLegacy(balancePath, { balance: LEGACY_MARKER.balance, last_updated: new Date().toISOString().slice(0, -1) });
    send(res, 200, LEGACY_MARKER);
  };

  const echo: Handler = (req, res, body) =>
    send(res, 200, { method: req.method, url: req.url, headers: req.headers, body_length: body.length, body_sha256: sha256(body) });

  const preflight: Handler = (req, res) => {
    res.writeHead(204, {
      'access-control-allow-origin': req.headers.origin ?? '*',
      'access-control-allow-methods': 'GET, POST, OPTIONS',
      'access-control-allow-headers': 'authorization, content-type',
      'access-control-max-age': '600',
    });
    res.end();
  };

  const routes: Record<string, Handler> = {
    'GET /trades/recent': (req, res) =>
      send(res, 200, { status: 'success', trades: [{ id: 8812, symbol: 'BTCUSDT', side: 'BUY', price: 65000.5, qty: 0.01 }], query: new URL(req.url ?? '/', 'http://legacy').search.slice(1) }),
    'POST /auto_trading/toggle': async (_req, res) => {
      const state = await loadState();
      state.enabled = !state.enabled;
      await writeLikeLegacy(tradingPath, state);
      send(res, 200, { status: 'success', enabled: state.enabled });
    },
    'POST /auto_trading/settings': async (_req, res, body) => {
      const state = await loadState();
      Object.assign(state, JSON.parse(body.toString('utf8') || '{}'));
      await writeLikeLegacy(tradingPath, state);
      send(res, 200, { status: 'success', settings: state });
    },
    'GET /virtual_balance': legacyOwn,
    'POST /virtual_balance': legacyOwn,
    'POST /virtual_balance/reset': legacyOwn,
    'GET /auto_trading/status': legacyOwn,
    'GET /balance': legacyOwn,
    'POST /echo': echo,
    'POST /model/upload': (req, res, body) =>
      send(res, 200, { status: 'success', body_length: body.length, body_sha256: sha256(body), parts: formParts(body, req.headers['content-type']) }),
    'GET /slow': (_req, res, _body, query) => {
      const ms = Number(query.get('ms') ?? 1000);
      // trickle: the answer starts at once (status, headers, a first part) and ends after ms.
      if (query.has('trickle')) res.writeHead(200, { 'content-type': 'text/plain; charset=utf-8' }).write('started\n');
      const timer = setTimeout(() => {
        if (!res.headersSent) res.writeHead(200, { 'content-type': 'text/plain; charset=utf-8' });
        res.end(`done after ${ms} ms\n`);
      }, ms);
      res.on('close', () => clearTimeout(timer));
    },
    'GET /chunked': (_req, res) => {
      res.writeHead(200, { 'content-type': 'text/plain; charset=utf-8', 'transfer-encoding': 'chunked' }).write('first chunk\n');
      holdUntilRelease(res, () => res.end('second chunk\nlast chunk\n'));
    },
    'POST /chunked/release': (_req, res) => send(res, 200, { status: 'success', released: held.emit('release') }),
    'GET /events': (_req, res) => {
      res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' }).write('data: 1\n\n');
      holdUntilRelease(res, () => res.end('data: 2\n\n'));
    },
    'GET /error500': (_req, res) => send(res, 500, { detail: 'legacy failure' }, { 'x-legacy-trace': 'trace-500' }),
    // A 304 may name the length its body would have had (RFC 9110 §8.6).
    'GET /not-modified': (_req, res) => void res.writeHead(304, { etag: '"v1"', 'content-length': '6' }).end(),
    'GET /drop': (req) => void req.socket.destroy(),
    // A worker killed mid-answer, after it booked a trade: the status line and headers go out, then
    // the connection is reset while balance-sync is adopting the booking.
    'POST /crash-mid-answer': async (req, res) => {
      await writeLikeLegacy(tradingPath, { ...(await loadState()), balance: 12_345.67 });
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': '1000' }).write('{"status":');
      setTimeout(() => req.socket.resetAndDestroy(), 1);
    },
  };

  const handle = async (req: IncomingMessage, res: ServerResponse) => {
    requests.push({ method: req.method ?? 'GET', url: req.url ?? '/', headers: req.headers });
    try {
      const chunks: Buffer[] = [];
      for await (const chunk of req) chunks.push(chunk as Buffer);
      const url = new URL(req.url ?? '/', 'http://legacy');
      // FastAPI's CORSMiddleware answers every request that names an Origin (a preflight: OPTIONS asking for a method).
      if (req.headers.origin) res.setHeader('access-control-allow-origin', req.headers.origin).setHeader('vary', 'Origin');
      res.setHeader('x-served-by', 'legacy');
      const handler =
        req.method === 'OPTIONS' && req.headers['access-control-request-method'] ? preflight : url.pathname.startsWith('/echo/') ? echo : routes[`${req.method} ${url.pathname}`];
      if (handler) await handler(req, res, Buffer.concat(chunks), url.searchParams);
      else send(res, 404, { detail: 'Not Found' });
    } catch (error) {
      if (res.headersSent) res.destroy();
      else send(res, 500, { detail: String(error) });
    }
  };

  const server = createServer((req, res) => void handle(req, res));
  const sockets = new WebSocketServer({ noServer: true });
  const silent = new Set<import('node:stream').Duplex>();
  server.on('upgrade', (req, socket, head) => {
    requests.push({ method: req.method ?? 'GET', url: req.url ?? '/', headers: req.headers });
    socket.on('error', () => socket.destroy());
    const path = new URL(req.url ?? '/', 'http://legacy').pathname;
    if (path === '/ws-silent') return void silent.add(socket); // never answers the handshake
    if (path !== '/ws') return void socket.end('HTTP/1.1 404 Not Found\r\n\r\n');
    sockets.handleUpgrade(req, socket, head, (ws) => {
      ws.send('hello from legacy');
      ws.on('message', (data, isBinary) => ws.send(data, { binary: isBinary }));
    });
  });

  await new Promise<void>((ready, fail) => {
    server.once('error', fail);
    server.listen(options.port ?? 0, '127.0.0.1', () => ready());
  });
  const { port } = server.address() as AddressInfo;
  let stopped: Promise<void> | undefined;

  return {
    url: `http://127.0.0.1:${port}`,
    port,
    requests,
    release: () => void held.emit('release'),
    stop() {
      stopped ??= new Promise<void>((done) => {
        held.removeAllListeners();
        for (const ws of sockets.clients) ws.terminate();
        for (const socket of silent) socket.destroy();
        sockets.close();
        server.close(() => done());
        server.closeAllConnections();
      });
      return stopped;
    },
  };
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const dataDir = resolve(process.env.DATA_DIR ?? './data');
  const backend = await startLegacyBackend({
    dataDir,
    port: Number(process.env.PORT ?? 8002),
    ...(process.env.TRADING_STATE_FILE && { tradingFile: process.env.TRADING_STATE_FILE }),
    ...(process.env.BALANCE_FILE && { balanceFile: process.env.BALANCE_FILE }),
    cacheState: process.env.CACHE_STATE === '1',
  });
  console.log(`legacy backend stand-in on ${backend.url}, data in ${dataDir}`);
  for (const signal of ['SIGINT', 'SIGTERM'] as const) process.once(signal, () => void backend.stop());
}
