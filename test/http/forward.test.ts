// What balance-sync promises when it stands in front of the legacy backend (SPEC: Fronting the legacy
// backend), checked from outside: a client on one side, a stand-in legacy backend on the other.

import { createHash, randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { createServer, request as rawRequest, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import request from 'supertest';
import { afterEach, describe, expect, it, vi } from 'vitest';
import WebSocket from 'ws';
import { startLegacyBackend, type LegacyBackend, type LegacyBackendOptions } from '../helpers/legacy-backend.ts';
import { ATS, openService, type TestService, type TestServiceOptions } from '../helpers/service.ts';
import { readJson, tempDir, writeJson } from '../helpers/temp-dir.ts';
import { waitFor } from '../helpers/wait.ts';

// Every promise here is kept or broken within a second or two; a forwarder that swallows a body or
// holds back an answer should fail in seconds, not at the suite's 30 s.
vi.setConfig({ testTimeout: 5_000 });

let backend: LegacyBackend | undefined;
let service: TestService | undefined;
let server: { close(): Promise<void> } | undefined;
const cleanups: (() => void)[] = [];

afterEach(async () => {
  for (const cleanup of cleanups.splice(0)) cleanup();
  await backend?.stop();
  await server?.close();
  await service?.close();
  backend = service = server = undefined;
});

/** balance-sync in front of a fresh stand-in, both on one fresh data folder. */
async function front(options: { legacy?: Partial<LegacyBackendOptions>; service?: TestServiceOptions; state?: object } = {}) {
  const dir = await tempDir();
  if (options.state) await writeJson(join(dir, ATS), options.state);
  backend = await startLegacyBackend({ dataDir: dir, ...options.legacy });
  service = await openService(dir, { upstreamUrl: backend.url, ...options.service });
  return { dir, app: service.app, backend };
}

/** balance-sync on a real socket, for what supertest cannot show: streaming and upgrades. */
async function listen(): Promise<string> {
  const http: Server = createServer(service!.app);
  http.on('upgrade', service!.upgrade);
  const sockets = new Set<Socket>();
  http.on('connection', (socket) => {
    sockets.add(socket);
  });
  await new Promise<void>((ready) => http.listen(0, '127.0.0.1', ready));
  server = {
    close: () =>
      new Promise<void>((done) => {
        http.close(() => done());
        // Upgraded sockets are no longer the HTTP server's to close.
        for (const socket of sockets) socket.destroy();
      }),
  };
  return `127.0.0.1:${(http.address() as AddressInfo).port}`;
}

/** Fails instead of hanging when what a test waits for never comes (a buffering proxy holds it back). */
async function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no ${what} within ${ms} ms`)), ms);
  });
  return Promise.race([promise, deadline]).finally(() => clearTimeout(timer));
}

/** Sends a request with its path exactly as written, and resolves once the status and headers are in. */
function startRequest(host: string, method: string, path: string, headers: Record<string, string> = {}): Promise<IncomingMessage> {
  const [hostname, port] = host.split(':');
  return new Promise((resolve, reject) => {
    const req = rawRequest({ hostname, port: Number(port), method, path, headers }, resolve);
    cleanups.push(() => req.destroy());
    req.on('error', reject).end();
  });
}

/** A request with a body on any method (fetch refuses one on GET), and the legacy echo's JSON answer. */
async function fetchRaw(host: string, method: string, path: string, body: string): Promise<any> {
  const response = await startRequestWithBody(host, method, path, body);
  return JSON.parse(await rest(response));
}

function startRequestWithBody(host: string, method: string, path: string, body: string): Promise<IncomingMessage> {
  const [hostname, port] = host.split(':');
  return new Promise((resolve, reject) => {
    const req = rawRequest({ hostname, port: Number(port), method, path, headers: { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(body) } }, resolve);
    cleanups.push(() => req.destroy());
    req.on('error', reject).end(body);
  });
}

/** The rest of a body, as text, from now until its end. */
async function rest(response: IncomingMessage): Promise<string> {
  let text = '';
  response.setEncoding('utf8').on('data', (chunk: string) => (text += chunk));
  await once(response, 'end');
  return text;
}

/** A WebSocket client, terminated after the test whatever state it is left in (even mid-handshake). */
function webSocket(url: string): WebSocket {
  const ws = new WebSocket(url);
  cleanups.push(() => ws.on('error', () => {}).terminate());
  return ws;
}

const sha256 = (bytes: Buffer | string) => createHash('sha256').update(bytes).digest('hex');

const pathOf = (url: string) => new URL(url, 'http://legacy').pathname;

/** What the stand-in received on these paths (its paths lower-cased, so /Balance counts as /balance). */
const reached = (...paths: string[]) => backend!.requests.filter((r) => paths.includes(pathOf(r.url).toLowerCase()));

const envelope = { status: 'error', message: expect.any(String) };

/** A multipart/form-data body as a browser builds it: a text field and one file. */
function multipart(boundary: string, file: Buffer): Buffer {
  return Buffer.concat([
    Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="model_name"\r\n\r\nlstm-v3\r\n`),
    Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="model.h5"\r\nContent-Type: application/octet-stream\r\n\r\n`),
    file,
    Buffer.from(`\r\n--${boundary}--\r\n`),
  ]);
}

describe('forwarding what balance-sync does not own', () => {
  it('forwards a GET with its query string unchanged', async () => {
    const { app, backend } = await front();
    const res = await request(app).get('/trades/recent?symbol=BTCUSDT&limit=5&tag=a%20b&tag=c').expect(200);
    expect(res.body).toMatchObject({ status: 'success', trades: [expect.objectContaining({ symbol: 'BTCUSDT' })] });
    expect(res.body.query).toBe('symbol=BTCUSDT&limit=5&tag=a%20b&tag=c');
    expect(backend.requests.map((r) => [r.method, r.url])).toContainEqual(['GET', '/trades/recent?symbol=BTCUSDT&limit=5&tag=a%20b&tag=c']);
  });

  it('forwards a POST with its method, path, headers and a body that is not JSON unchanged, adding X-Forwarded-* and X-Request-Id', async () => {
    const { app } = await front();
    const body = 'symbol=BTCUSDT&qty=0.5&note=%E2%82%AC';
    const res = await request(app)
      .post('/echo?dry_run=1')
      .set('Host', 'trading.example:8001')
      .set('Content-Type', 'application/x-www-form-urlencoded')
      .set('Cookie', 'session=abc')
      .set('X-Client', 'sidebar/2.3')
      .send(body)
      .expect(200);
    const echo = res.body;
    expect(echo).toMatchObject({ method: 'POST', url: '/echo?dry_run=1', body_length: body.length, body_sha256: sha256(body) });
    expect(echo.headers).toMatchObject({
      'content-type': 'application/x-www-form-urlencoded',
      'content-length': String(body.length),
      cookie: 'session=abc',
      'x-client': 'sidebar/2.3',
      'x-forwarded-proto': 'http',
      'x-forwarded-host': 'trading.example:8001',
    });
    expect(echo.headers['x-forwarded-for']).toMatch(/127\.0\.0\.1/);
    expect(echo.headers['x-request-id']).toMatch(/^[\x21-\x7e]+$/);
    expect(res.headers['x-request-id']).toBe(echo.headers['x-request-id']);
  });

  it("keeps a client's X-Request-Id, forwards it, and echoes it back", async () => {
    const { app } = await front();
    const res = await request(app).post('/echo').set('X-Request-Id', 'trade-8812-a').send('{}').expect(200);
    expect(res.body.headers['x-request-id']).toBe('trade-8812-a');
    expect(res.headers['x-request-id']).toBe('trade-8812-a');
  });

  it.each(['put', 'patch', 'delete'] as const)('forwards %s with its method, path and body', async (method) => {
    const { app } = await front();
    const res = await request(app)[method]('/echo/orders/7?force=true').set('Content-Type', 'application/json').send('{"qty":2}').expect(200);
    expect(res.body).toMatchObject({ method: method.toUpperCase(), url: '/echo/orders/7?force=true', body_sha256: sha256('{"qty":2}') });
  });

  it.each(['GET', 'DELETE', 'OPTIONS'])('forwards a legitimate body on %s byte for byte, with its length', async (method) => {
    await front();
    const host = await listen();
    const body = '{"filter":{"symbol":"BTCUSDT"},"note":"\u00e9"}';
    const response = await fetchRaw(host, method, '/echo/search', body);
    expect(response).toMatchObject({ method, url: '/echo/search', body_length: Buffer.byteLength(body), body_sha256: sha256(body) });
    expect(response.headers['content-length']).toBe(String(Buffer.byteLength(body)));
  });

  it('forwards a 40 KB JSON body byte for byte, not 413', async () => {
    const { app } = await front();
    const candles = Array.from({ length: 700 }, (_, t) => ({ t, o: 65000.5 + t, h: 65100.25, l: 64900.125, c: 65050 }));
    const body = JSON.stringify({ symbol: 'BTCUSDT', candles });
    expect(Buffer.byteLength(body)).toBeGreaterThan(40 * 1024);
    const res = await request(app).post('/echo').set('Content-Type', 'application/json').send(body).expect(200);
    expect(res.body).toMatchObject({ body_length: Buffer.byteLength(body), body_sha256: sha256(body) });
  });

  it('forwards a 5 MB multipart upload byte for byte', async () => {
    const { app } = await front();
    const file = randomBytes(5 * 1024 * 1024);
    const boundary = `----balance-sync-${randomBytes(12).toString('hex')}`;
    const body = multipart(boundary, file);
    const res = await request(app).post('/model/upload').set('Content-Type', `multipart/form-data; boundary=${boundary}`).send(body).expect(200);
    expect(res.body).toMatchObject({ body_length: body.length, body_sha256: sha256(body) });
    expect(res.body.parts).toContainEqual({ name: 'file', filename: 'model.h5', size: file.length, sha256: sha256(file) });
  });

  it('forwards an upload sent the way curl sends large ones, with Expect: 100-continue', async () => {
    await front();
    const host = await listen();
    const file = randomBytes(2 * 1024 * 1024);
    const [port] = host.split(':').slice(1);
    const answer = await new Promise<{ status: number; body: string }>((resolve, reject) => {
      const req = rawRequest({ host: '127.0.0.1', port: Number(port), method: 'POST', path: '/echo', headers: { Expect: '100-continue', 'Content-Length': file.length } });
      req.on('continue', () => req.end(file));
      req.on('response', (res) => {
        let body = '';
        res.setEncoding('utf8').on('data', (chunk: string) => (body += chunk)).on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      });
      req.on('error', reject);
    });
    expect(answer.status).toBe(200);
    expect(JSON.parse(answer.body)).toMatchObject({ body_length: file.length, body_sha256: sha256(file) });
  });

  it("relays the upstream's 500 as it is: status, body and headers", async () => {
    const { app } = await front();
    const res = await request(app).get('/error500');
    expect(res.status).toBe(500);
    expect(res.text).toBe('{"detail":"legacy failure"}');
    expect(res.headers['x-legacy-trace']).toBe('trace-500');
    expect(res.headers['x-served-by']).toBe('legacy');
  });

  it('relays a 304 that names the length its body would have had, whole', async () => {
    await front();
    const host = await listen();
    const response = await within(startRequest(host, 'GET', '/not-modified', { 'If-None-Match': '"v1"' }), 2_000, 'the 304');
    expect(response.statusCode).toBe(304);
    expect(response.headers.etag).toBe('"v1"');
    expect(await rest(response)).toBe('');
  });

  it("relays the upstream's own 404 for a route neither knows, not the service's envelope", async () => {
    const { app } = await front();
    const res = await request(app).get('/no/such/legacy/route').expect(404);
    expect(res.body).toEqual({ detail: 'Not Found' });
  });

  it('streams a chunked answer: the first chunk arrives before the upstream has finished', async () => {
    const { backend } = await front();
    const host = await listen();
    const response = await within(startRequest(host, 'GET', '/chunked'), 2_000, 'response headers');
    expect(response.statusCode).toBe(200);
    const [first] = await within(once(response.setEncoding('utf8'), 'data'), 2_000, 'first chunk before the release');
    expect(first).toBe('first chunk\n');
    expect(response.complete).toBe(false);
    const remainder = rest(response);
    backend.release();
    expect(await within(remainder, 2_000, 'end of the answer')).toBe('second chunk\nlast chunk\n');
  });

  it('streams an event stream: the first event arrives while the stream is still open', async () => {
    const { backend } = await front();
    const host = await listen();
    const response = await within(startRequest(host, 'GET', '/events', { Accept: 'text/event-stream' }), 2_000, 'response headers');
    expect(response.headers['content-type']).toBe('text/event-stream');
    const [first] = await within(once(response.setEncoding('utf8'), 'data'), 2_000, 'first event before the release');
    expect(first).toBe('data: 1\n\n');
    const remainder = rest(response);
    backend.release();
    expect(await within(remainder, 2_000, 'the second event')).toBe('data: 2\n\n');
  });

  it('forwards a WebSocket upgrade and carries messages both ways', async () => {
    const { backend } = await front();
    const host = await listen();
    const ws = webSocket(`ws://${host}/ws`);
    const [greeting] = await within(once(ws, 'message'), 2_000, 'greeting from upstream');
    expect(String(greeting)).toBe('hello from legacy');
    ws.send('ping 42');
    const [echo] = await within(once(ws, 'message'), 2_000, 'echo from upstream');
    expect(String(echo)).toBe('ping 42');
    expect(reached('/ws')).toHaveLength(1);
  });
});

describe('own routes', () => {
  it("answers its own routes itself: the legacy backend's /virtual_balance, /virtual_balance/reset, /auto_trading/status and /balance are never reached", async () => {
    const { app } = await front({ state: { enabled: true, symbol: 'BTCUSDT', balance: 10000 } });
    const answers = [
      await request(app).get('/virtual_balance').expect(200),
      await request(app).head('/virtual_balance').expect(200),
      await request(app).post('/virtual_balance/reset').expect(200),
      await request(app).post('/virtual_balance').send({ balance: 5000 }).expect(200),
      await request(app).get('/auto_trading/status').expect(200),
      await request(app).get('/balance').expect(200),
    ];
    for (const res of answers) {
      expect(res.text ?? '').not.toContain('legacy');
      expect(res.headers['x-served-by']).toBeUndefined();
    }
    const [, , , changed, status, balance] = answers;
    expect(status!.body.data).toMatchObject({ enabled: true, symbol: 'BTCUSDT', balance: 5000 });
    expect(balance!.body).toEqual({ status: 'success', balance: 5000, currency: 'USDT', available: 5000, locked: 0, revision: changed!.body.revision });
    expect(reached('/virtual_balance', '/virtual_balance/reset', '/auto_trading/status', '/balance')).toEqual([]);
  });

  it('answers a method an own path does not support with 405 and Allow in the envelope, without forwarding it', async () => {
    const { app } = await front();
    const res = await request(app).delete('/virtual_balance').expect(405);
    expect(res.body).toEqual(envelope);
    expect(res.headers['content-type']).toMatch(/application\/json/);
    const allow = String(res.headers.allow).split(',').map((m) => m.trim());
    expect(allow).toEqual(expect.arrayContaining(['GET', 'HEAD', 'POST']));
    expect(allow).not.toContain('DELETE');
    expect(reached('/virtual_balance')).toEqual([]);
  });

  it.each([
    ['put', '/auto_trading/status'],
    ['get', '/virtual_balance/reset'],
    ['post', '/virtual_balance/history'],
    ['delete', '/balance'],
    ['post', '/health'],
    ['patch', '/openapi.json'],
    ['post', '/virtual_balance/events'],
    ['options', '/virtual_balance'],
    ['get', '/balance-sync/no-such-file.js'],
  ] as const)('answers %s %s itself in the envelope, never forwarded', async (method, path) => {
    const { app } = await front();
    const res = await request(app)[method](path);
    expect([404, 405]).toContain(res.status);
    expect(res.body).toEqual(envelope);
    expect(reached(path)).toEqual([]);
  });

  it.each([
    '/Virtual_Balance',
    '/virtual_balance/',
    '/virtual%5Fbalance',
    '//virtual_balance',
    '/x/../virtual_balance',
    '/balance/.',
    '/x\\..\\virtual_balance',
    '/virtual_balance#fragment',
    'http://legacy.example/virtual_balance',
  ])(
    'treats %s as its own /virtual_balance or /balance, never forwarding it',
    async (path) => {
      const { backend } = await front();
      const host = await listen();
      const response = await within(startRequest(host, 'POST', path, { 'Content-Type': 'application/json' }), 2_000, 'an answer');
      await rest(response);
      expect(response.headers['x-served-by']).toBeUndefined();
      // Whatever the upstream may get besides (a reachability probe), it is never this POST.
      expect(backend.requests.filter((r) => r.method === 'POST')).toEqual([]);
    },
  );

  it.each([
    ['its own route', '/virtual_balance', 'balance-sync'],
    ['a forwarded route', '/echo/h2c', 'legacy'],
  ])('answers a POST that offers h2c (curl --http2 -d) on %s as HTTP/1.1, body and all', async (_what, path, servedBy) => {
    await front();
    const host = await listen();
    const [hostname, port] = host.split(':');
    const body = '{"balance": 77}';
    const response = await within(
      new Promise<IncomingMessage>((resolve, reject) => {
        const req = rawRequest({
          hostname,
          port: Number(port),
          method: 'POST',
          path,
          headers: { Connection: 'Upgrade, HTTP2-Settings', Upgrade: 'h2c', 'HTTP2-Settings': 'AAMAAABkAAQCAAAAAAIAAAAA', 'Content-Type': 'application/json' },
        }, resolve);
        cleanups.push(() => req.destroy());
        req.on('error', reject).end(body);
      }),
      2_000,
      'an answer',
    );
    const text = await rest(response);
    expect(response.statusCode).toBe(200);
    if (servedBy === 'legacy') expect(JSON.parse(text)).toMatchObject({ body_sha256: sha256(body) });
    else expect(JSON.parse(text)).toMatchObject({ balance: 77 });
  });

  it('requires its own token for an own route named in the absolute form, which the legacy backend would have taken', async () => {
    const { backend } = await front({ service: { apiToken: 'secret' } });
    const host = await listen();
    // (Under a loopback name: a foreign one is 421 before the token is asked for — the target names the host.)
    const response = await within(startRequest(host, 'POST', `http://${host}/virtual_balance/reset`, {}), 2_000, 'an answer');
    await rest(response);
    expect(response.statusCode).toBe(401);
    expect(backend.requests.filter((r) => r.method === 'POST')).toEqual([]);
  });

  it('never forwards a WebSocket upgrade on an own path, and does not leave it hanging', async () => {
    await front();
    const host = await listen();
    const ws = webSocket(`ws://${host}/virtual_balance/events`);
    const outcome = new Promise<number | string>((resolve) => {
      ws.once('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0));
      ws.once('error', (error) => resolve(error.message));
      ws.once('open', () => resolve('open'));
    });
    expect(await within(outcome, 2_000, 'an answer to the upgrade')).not.toBe('open');
    expect(reached('/virtual_balance/events')).toEqual([]);
  });

  it('keeps answering its own routes with 200 when the upstream is down, and answers forwarded requests 502 in the envelope', async () => {
    const { app, backend } = await front();
    await backend.stop();
    const res = await request(app).get('/trades/recent').expect(502);
    expect(res.body).toEqual(envelope);
    expect(res.headers['content-type']).toMatch(/application\/json/);
    await request(app).get('/virtual_balance').expect(200);
    await request(app).post('/virtual_balance').send({ balance: 7 }).expect(200);
    await request(app).get('/auto_trading/status').expect(200);
    await request(app).get('/health').expect(200);
  });

  it('without an upstream, still answers an unknown route 404 in the envelope', async () => {
    const dir = await tempDir();
    service = await openService(dir);
    const res = await request(service.app).get('/trades/recent').expect(404);
    expect(res.body).toEqual(envelope);
    await request(service.app).post('/auto_trading/toggle').expect(404);
  });
});

describe('when the upstream fails', () => {
  it('survives an upstream that starts an answer to a change and then drops it: the client sees it cut, the service keeps answering', async () => {
    const { app } = await front();
    const host = await listen();
    const outcome = await fetch(`http://${host}/crash-mid-answer`, { method: 'POST' }).then(
      async (res) => `status ${res.status}, body ${await res.text().then(() => 'complete', () => 'cut')}`,
      () => 'cut',
    );
    expect(outcome).toMatch(/cut/);
    await request(app).get('/virtual_balance').expect(200);
    expect(await fetch(`http://${host}/virtual_balance`).then((res) => res.status)).toBe(200);
  });

  it('answers 502 in the envelope when the upstream drops the connection before answering', async () => {
    const { app } = await front();
    const res = await request(app).get('/drop').expect(502);
    expect(res.body).toEqual(envelope);
  });

  it('refuses a WebSocket upgrade with 502 when the upstream is down, instead of leaving it hanging', async () => {
    const { backend } = await front();
    const host = await listen();
    await backend.stop();
    const ws = webSocket(`ws://${host}/ws`);
    const [, response] = await within(once(ws, 'unexpected-response'), 2_000, 'an answer to the upgrade');
    expect((response as IncomingMessage).statusCode).toBe(502);
  });

  it('answers a WebSocket handshake the upstream never answers with 504', async () => {
    await front({ service: { upstreamTimeoutMs: 300 } });
    const host = await listen();
    const ws = webSocket(`ws://${host}/ws-silent`);
    const [, response] = await within(once(ws, 'unexpected-response'), 2_000, 'an answer to the upgrade');
    expect((response as IncomingMessage).statusCode).toBe(504);
  });

  it('answers 504 in the envelope when no response headers come within UPSTREAM_TIMEOUT_MS', async () => {
    const { app } = await front({ service: { upstreamTimeoutMs: 300 } });
    const started = performance.now();
    const res = await request(app).get('/slow?ms=5000').expect(504);
    expect(res.body).toEqual(envelope);
    expect(performance.now() - started).toBeLessThan(2_000);
  });

  it('logs a 502 and a 504 at warn, with the request id and the reason', async () => {
    const lines: { level: number; msg: string; req?: { id: string }; upstream?: string }[] = [];
    const sink = new Writable({ write: (chunk, _encoding, done) => (lines.push(JSON.parse(String(chunk))), done()) });
    const { app, backend } = await front({ service: { upstreamTimeoutMs: 300, logger: pino({ level: 'info' }, sink) } });
    await request(app).get('/slow?ms=5000').set('X-Request-Id', 'slow-1').expect(504);
    await backend.stop();
    await request(app).get('/trades/recent').set('X-Request-Id', 'down-1').expect(502);
    const logged = (id: string) => lines.find((line) => line.req?.id === id);
    expect(logged('slow-1')).toMatchObject({ level: 40, upstream: expect.stringContaining('did not answer in time') });
    expect(logged('down-1')).toMatchObject({ level: 40, upstream: expect.stringContaining('ECONNREFUSED') });
  });

  it('never cuts an answer that started within UPSTREAM_TIMEOUT_MS but runs longer', async () => {
    const { app } = await front({ service: { upstreamTimeoutMs: 300 } });
    const started = performance.now();
    const res = await request(app).get('/slow?ms=800&trickle=1').expect(200);
    expect(res.text).toBe('started\ndone after 800 ms\n');
    expect(performance.now() - started).toBeGreaterThanOrEqual(800);
  });

  it('reports the upstream as reachable in /health', async () => {
    const { app, backend } = await front();
    const { value } = await waitFor(async () => {
      const res = await request(app).get('/health').expect(200);
      return res.body.upstream?.reachable === true && res.body;
    }, 2_000, 'the upstream reported reachable');
    expect(value.upstream.url).toBe(backend.url);
  });

  it('reports the upstream as unreachable in /health, and stays 200', async () => {
    const { app, backend } = await front();
    await backend.stop();
    await waitFor(async () => {
      const res = await request(app).get('/health').expect(200);
      return res.body.upstream?.reachable === false;
    }, 2_000, 'the upstream reported unreachable');
  });
});

describe('read your writes', () => {
  it('shows a toggle made through it in the very next /auto_trading/status', async () => {
    const { app } = await front({ state: { enabled: false, symbol: 'BTCUSDT', balance: 10000 } });
    for (const enabled of [true, false]) {
      expect((await request(app).post('/auto_trading/toggle').expect(200)).body).toEqual({ status: 'success', enabled });
      const status = await request(app).get('/auto_trading/status').expect(200);
      expect(status.body.data).toMatchObject({ enabled, symbol: 'BTCUSDT', balance: 10000 });
      expect(status.body.auto_trading).toMatchObject({ enabled, balance: 10000 });
    }
  });

  it('shows settings changed through it in the very next /auto_trading/status', async () => {
    const { app } = await front({ state: { enabled: true, symbol: 'BTCUSDT', balance: 10000 } });
    await request(app).post('/auto_trading/settings').send({ symbol: 'ETHUSDT', risk_per_trade: 0.02 }).expect(200);
    const status = await request(app).get('/auto_trading/status').expect(200);
    expect(status.body.data).toMatchObject({ enabled: true, symbol: 'ETHUSDT', risk_per_trade: 0.02, balance: 10000 });
  });

  // SPEC "Edits by other processes", stale write-backs: the real legacy app keeps the state it read
  // once and writes that whole copy back on a toggle, balance and `_balance_sync` revision included.
  it('STALE WRITE-BACK: keeps a balance set through it when a legacy process that cached the state toggles afterwards', async () => {
    const { app, dir } = await front({ state: { enabled: false, symbol: 'BTCUSDT', balance: 10000 }, legacy: { cacheState: true } });
    // The first toggle is the legacy's first use: it reads the state (balance 10000, this revision) and keeps it.
    expect((await request(app).post('/auto_trading/toggle').expect(200)).body.enabled).toBe(true);
    await request(app).post('/virtual_balance').send({ balance: 5000 }).expect(200);
    expect((await request(app).post('/auto_trading/toggle').expect(200)).body.enabled).toBe(false);
    const status = await request(app).get('/auto_trading/status').expect(200);
    expect(status.body.data).toMatchObject({ enabled: false, balance: 5000 });
    expect(status.body.auto_trading).toMatchObject({ enabled: false, balance: 5000 });
    expect((await request(app).get('/virtual_balance').expect(200)).body.balance).toBe(5000);
    expect((await request(app).get('/balance').expect(200)).body.balance).toBe(5000);
    await waitFor(async () => (await readJson(join(dir, ATS))).balance === 5000, 1_000, 'the current balance written back into the trading state');
  });
});

describe('access control stays with the upstream for forwarded requests', () => {
  it('forwards a POST without a token despite API_TOKEN, with Authorization passed through untouched', async () => {
    const { app } = await front({ service: { apiToken: 'sync-secret' } });
    await request(app).post('/virtual_balance').send({ balance: 1 }).expect(401);
    const settings = await request(app).post('/auto_trading/settings').send({ risk_per_trade: 0.01 }).expect(200);
    expect(settings.headers['x-served-by']).toBe('legacy');
    const echo = await request(app).post('/echo').set('Authorization', 'Bearer legacy-session').send('{}').expect(200);
    expect(echo.body.headers.authorization).toBe('Bearer legacy-session');
  });

  it("forwards a CORS preflight and relays the upstream's own answer, with exactly one Access-Control-Allow-Origin", async () => {
    const origin = 'http://dashboard.example';
    const { app } = await front({ service: { corsOrigins: [origin] } });
    const res = await request(app)
      .options('/trades/recent')
      .set('Origin', origin)
      .set('Access-Control-Request-Method', 'POST')
      .set('Access-Control-Request-Headers', 'authorization, content-type')
      .expect(204);
    expect(res.headers['x-served-by']).toBe('legacy');
    expect(res.headers['access-control-allow-origin']).toBe(origin);
    expect(res.headers['access-control-allow-headers']).toBe('authorization, content-type');
    expect(reached('/trades/recent').map((r) => r.method)).toEqual(['OPTIONS']);
  });

  it('adds none of its own CORS headers to a forwarded answer', async () => {
    const origin = 'http://dashboard.example';
    const { app } = await front({ service: { corsOrigins: [origin] } });
    const res = await request(app).get('/trades/recent').set('Origin', origin).expect(200);
    expect(res.headers['access-control-allow-origin']).toBe(origin);
    expect(res.headers['access-control-expose-headers']).toBeUndefined();
  });

  it("answers an own route's preflight itself", async () => {
    const origin = 'http://dashboard.example';
    const { app } = await front({ service: { corsOrigins: [origin] } });
    const res = await request(app).options('/virtual_balance').set('Origin', origin).set('Access-Control-Request-Method', 'POST').expect(204);
    expect(res.headers['x-served-by']).toBeUndefined();
    expect(res.headers['access-control-allow-origin']).toBe(origin);
    expect(res.headers['access-control-allow-headers']).toMatch(/Idempotency-Key/i);
    expect(reached('/virtual_balance')).toEqual([]);
  });
});
