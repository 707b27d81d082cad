import type { Server } from 'node:http';
import { Validator } from '@seriousme/openapi-schema-validator';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { createServer } from 'node:http';
import request from 'supertest';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { EventStream } from '../../src/http/events.ts';
import { openService, type TestService, type TestServiceOptions } from '../helpers/service.ts';
import { connect, type SseClient } from '../helpers/sse.ts';
import { tempDir } from '../helpers/temp-dir.ts';

let service: TestService | undefined;
let server: Server | undefined;
const clients: SseClient[] = [];
afterEach(async () => {
  for (const client of clients.splice(0)) client.close();
  await new Promise((resolve) => (server ? server.close(resolve) : resolve(undefined)));
  await service?.close();
  service = server = undefined;
  vi.restoreAllMocks();
});

async function open(options: TestServiceOptions = {}) {
  service = await openService(await tempDir(), options);
  return service.app;
}

describe('conditional requests', () => {
  it('If-Match with the current ETag applies the change; a stale one is 412 and changes nothing', async () => {
    const app = await open();
    const { etag } = (await request(app).get('/virtual_balance')).headers;
    await request(app).post('/virtual_balance').set('If-Match', etag as string).send({ balance: 1 }).expect(200);
    const stale = await request(app).post('/virtual_balance').set('If-Match', etag as string).send({ balance: 2 }).expect(412);
    expect(stale.body.status).toBe('error');
    expect((await request(app).get('/virtual_balance')).body.balance).toBe(1);
  });
});

describe('adjustments', () => {
  it('adds exactly: 0.1 + 0.2 is 0.3', async () => {
    const app = await open();
    await request(app).post('/virtual_balance').send({ balance: 0.1 }).expect(200);
    const res = await request(app).post('/virtual_balance').send({ delta: '0.2' }).expect(200);
    expect(res.body.balance).toBe(0.3);
  });

  it('refuses a delta below zero with 409 and changes nothing', async () => {
    const app = await open();
    const res = await request(app).post('/virtual_balance').send({ delta: -10000.01 }).expect(409);
    expect(res.body).toMatchObject({ status: 'error', message: expect.stringContaining('below 0') });
    expect((await request(app).get('/virtual_balance')).body).toMatchObject({ balance: 10000, revision: 1 });
  });

  it('takes the reason into the journal', async () => {
    const app = await open();
    await request(app).post('/virtual_balance').send({ delta: -25.5, reason: 'BTCUSDT closed' }).expect(200);
    const { entries } = (await request(app).get('/virtual_balance/history?limit=1')).body;
    expect(entries[0]).toMatchObject({ balance: 9974.5, previous: 10000, source: 'api', reason: 'BTCUSDT closed' });
  });
});

describe('Idempotency-Key', () => {
  it('answers a repeat with the first response and changes nothing', async () => {
    const app = await open();
    const first = await request(app).post('/virtual_balance').set('Idempotency-Key', 'trade-42').send({ delta: -5 }).expect(200);
    const again = await request(app).post('/virtual_balance').set('Idempotency-Key', 'trade-42').send({ delta: -5 }).expect(200);
    expect(again.body).toEqual(first.body);
    expect((await request(app).get('/virtual_balance')).body).toMatchObject({ balance: 9995, revision: first.body.revision });
  });

  it('treats the same JSON value with other key order or spacing as the same body', async () => {
    const app = await open();
    await request(app).post('/virtual_balance').set('Idempotency-Key', 'k').send('{"delta":1,"reason":"r"}').expect(200);
    const again = await request(app).post('/virtual_balance').set('Idempotency-Key', 'k').send('{ "reason": "r", "delta": 1.0 }').expect(200);
    expect(again.headers['idempotency-replayed']).toBe('true');
  });

  it('refuses the same key with another body with 422', async () => {
    const app = await open();
    await request(app).post('/virtual_balance').set('Idempotency-Key', 'k').send({ delta: 1 }).expect(200);
    await request(app).post('/virtual_balance').set('Idempotency-Key', 'k').send({ delta: 2 }).expect(422);
    await request(app).post('/virtual_balance/reset').set('Idempotency-Key', 'k').expect(422);
  });

  it('remembers keys across a restart', async () => {
    const dir = await tempDir();
    service = await openService(dir);
    const first = await request(service.app).post('/virtual_balance').set('Idempotency-Key', 'persist').send({ delta: 7 }).expect(200);
    await service.close();
    service = await openService(dir);
    const again = await request(service.app).post('/virtual_balance').set('Idempotency-Key', 'persist').send({ delta: 7 }).expect(200);
    expect(again.body).toEqual(first.body);
    expect((await request(service.app).get('/virtual_balance')).body.balance).toBe(10007);
  });

  it('does not remember failed answers', async () => {
    const app = await open();
    await request(app).post('/virtual_balance').set('Idempotency-Key', 'f').send({ delta: -99999 }).expect(409);
    await request(app).post('/virtual_balance').set('Idempotency-Key', 'f').send({ delta: -1 }).expect(200);
  });

  it('rejects a malformed key with 400', async () => {
    const app = await open();
    await request(app).post('/virtual_balance').set('Idempotency-Key', 'x'.repeat(201)).send({ delta: 1 }).expect(400);
  });

  it('applies concurrent repeats once', async () => {
    const app = await open();
    const answers = await Promise.all(Array.from({ length: 10 }, () => request(app).post('/virtual_balance').set('Idempotency-Key', 'burst').send({ delta: 1 })));
    expect(new Set(answers.map((a) => a.body.revision)).size).toBe(1);
    expect((await request(app).get('/virtual_balance')).body.balance).toBe(10001);
  });
});

/** Connects to the event stream with a 4 KiB receive buffer, says so, and never reads. */
const STALLED_READER = `
import socket, sys, time
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
s.connect(('127.0.0.1', int(sys.argv[1])))
s.sendall(b'GET /virtual_balance/events HTTP/1.1\\r\\nHost: 127.0.0.1\\r\\n\\r\\n')
print('sent', flush=True)
time.sleep(60)
`;
const stopLater: (() => void)[] = [];
afterEach(() => {
  for (const stop of stopLater.splice(0)) stop();
});

describe('live updates', () => {
  async function listen(app: TestService['app']) {
    server = createServer(app).listen(0);
    await new Promise((resolve) => server?.once('listening', resolve));
    const address = server.address();
    return `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
  }

  it('sends the GET body at once and after every change, whatever made it', async () => {
    const app = await open();
    const url = await listen(app);
    const client = await connect(`${url}/virtual_balance/events`);
    clients.push(client);
    expect(client.response.headers['content-type']).toMatch(/text\/event-stream/);
    expect(await client.next()).toMatchObject({ status: 'success', balance: 10000, revision: 1 });
    await request(app).post('/virtual_balance').send({ balance: 5 });
    expect(await client.next()).toMatchObject({ balance: 5, revision: 2 });
    await request(app).post('/virtual_balance/reset');
    expect(await client.next()).toMatchObject({ balance: 10000, revision: 3 });
  });

  it('sends heartbeat comments', async () => {
    await open();
    const { createApp } = await import('../../src/app.ts');
    const { pino } = await import('pino');
    const fast = createApp({
      balance: service!.balance,
      history: service!.journal,
      metrics: service!.metrics,
      logger: pino({ level: 'silent' }),
      config: { API_TOKEN: undefined, CORS_ORIGINS: undefined },
      heartbeatMs: 20,
    });
    const client = await connect(`${await listen(fast.app)}/virtual_balance/events`);
    clients.push(client);
    await client.next();
    await vi.waitFor(() => expect(client.comments).toContain(': heartbeat'), { timeout: 1_000 });
    fast.close();
  });

  it('forgets a client that disconnects, and ends every stream on close', async () => {
    const attach = vi.spyOn(EventStream.prototype, 'attach');
    const app = await open();
    const url = await listen(app);
    const leaving = await connect(`${url}/virtual_balance/events`);
    const staying = await connect(`${url}/virtual_balance/events`);
    clients.push(staying);
    await Promise.all([leaving.next(), staying.next()]);
    const stream = attach.mock.contexts[0] as EventStream;
    expect(stream.size).toBe(2);
    leaving.close();
    await vi.waitFor(() => expect(stream.size).toBe(1));
    const ended = new Promise((resolve) => staying.response.once('end', resolve));
    stream.close();
    await ended;
    expect(stream.size).toBe(0);
  });

  it('drops a client that stopped reading once more than MAX_UNSENT_BYTES wait for it, keeps serving the others, and lets it reconnect', async () => {
    const app = await open();
    const url = await listen(app);
    const clientsNow = async () => Number(/^balance_sync_event_stream_clients (\d+)$/m.exec(await service!.metrics.text())?.[1]);
    // A client that never reads, in a process of its own. Its small receive buffer turns off the
    // kernel's autotuning, which would otherwise take up to ~30 MB on loopback before the service's
    // own buffer holds a byte; the service's send buffer (up to 4 MB) still fills first.
    const stalled = spawn('python3', ['-c', STALLED_READER, new URL(url).port], { stdio: ['ignore', 'pipe', 'inherit'] });
    stopLater.push(() => stalled.kill('SIGKILL'));
    await once(stalled.stdout, 'data'); // its request is sent
    await vi.waitFor(async () => expect(await clientsNow()).toBe(1));
    const reader = await connect(`${url}/virtual_balance/events`);
    clients.push(reader);
    await reader.next();
    let received = 0;
    let partial = '';
    reader.response.on('data', (chunk: string) => {
      const frames = (partial + chunk).split('\n\n');
      partial = frames.pop() ?? '';
      received += frames.filter((frame) => frame.includes('event: balance')).length;
    });

    const rssBefore = process.memoryUsage().rss;
    const start = service!.balance.snapshot();
    const total = 40_000; // ~6 MB of events
    for (let i = 1; i <= total; i++) {
      service!.balance.emit('change', { ...start, revision: start.revision + i });
      if (i % 500 === 0) await new Promise((resolve) => setImmediate(resolve));
    }
    await vi.waitFor(async () => expect(await clientsNow()).toBe(1), { timeout: 5_000 }); // the reader only
    await vi.waitFor(() => expect(received).toBe(total), { timeout: 10_000 });
    expect((process.memoryUsage().rss - rssBefore) / 2 ** 20).toBeLessThan(64);

    const again = await connect(`${url}/virtual_balance/events`);
    clients.push(again);
    expect(await again.next()).toMatchObject({ balance: 10000 });
  });

  it('serves 100 clients from one serialization per change', async () => {
    const publish = vi.spyOn(EventStream.prototype, 'publish');
    const app = await open();
    const url = await listen(app);
    const many = await Promise.all(Array.from({ length: 100 }, () => connect(`${url}/virtual_balance/events`)));
    clients.push(...many);
    await Promise.all(many.map((c) => c.next()));
    await request(app).post('/virtual_balance').send({ balance: 42 }).expect(200);
    const received = await Promise.all(many.map((c) => c.next()));
    expect(received.every((event) => event.balance === 42)).toBe(true);
    expect(publish).toHaveBeenCalledTimes(1);
  });
});

describe('auth', () => {
  it('with API_TOKEN, changes need the bearer token; reads stay open', async () => {
    const app = await open({ apiToken: 's3cret' });
    const missing = await request(app).post('/virtual_balance').send({ balance: 1 }).expect(401);
    expect(missing.headers['www-authenticate']).toMatch(/^Bearer/);
    expect(missing.body.status).toBe('error');
    await request(app).post('/virtual_balance').set('Authorization', 'Bearer wrong').send({ balance: 1 }).expect(401);
    await request(app).post('/virtual_balance/reset').expect(401);
    await request(app).post('/virtual_balance').set('Authorization', 'Bearer s3cret').send({ balance: 1 }).expect(200);
    await request(app).get('/virtual_balance').expect(200);
    await request(app).get('/auto_trading/status').expect(200);
  });
});

describe('CORS', () => {
  it('without CORS_ORIGINS, sends no CORS headers', async () => {
    const app = await open();
    const res = await request(app).get('/virtual_balance').set('Origin', 'http://evil.example');
    expect(res.headers['access-control-allow-origin']).toBeUndefined();
  });

  it('allows exactly the listed origins, preflight included', async () => {
    const app = await open({ corsOrigins: ['http://app.local'] });
    const ok = await request(app).get('/virtual_balance').set('Origin', 'http://app.local');
    expect(ok.headers['access-control-allow-origin']).toBe('http://app.local');
    expect(ok.headers['access-control-expose-headers']).toMatch(/ETag/);
    const preflight = await request(app)
      .options('/virtual_balance')
      .set('Origin', 'http://app.local')
      .set('Access-Control-Request-Method', 'POST')
      .set('Access-Control-Request-Headers', 'authorization, if-match')
      .expect(204);
    expect(preflight.headers['access-control-allow-headers']).toMatch(/Authorization/);
    expect(preflight.headers['access-control-allow-headers']).toMatch(/If-Match/);
    const other = await request(app).get('/virtual_balance').set('Origin', 'http://other.local');
    expect(other.headers['access-control-allow-origin']).toBeUndefined();
  });
});

describe('GET /openapi.json', () => {
  it('is a valid OpenAPI 3.1 document for every route', async () => {
    const app = await open();
    const { body } = await request(app).get('/openapi.json').expect(200);
    const result = await new Validator().validate(body);
    expect(result.errors ?? []).toEqual([]);
    expect(result.valid).toBe(true);
    expect(body.openapi).toBe('3.1.0');
    expect(Object.keys(body.paths)).toEqual(
      expect.arrayContaining(['/virtual_balance', '/virtual_balance/reset', '/virtual_balance/history', '/virtual_balance/events', '/auto_trading/status', '/health']),
    );
  });

  it('documents examples the service accepts', async () => {
    const app = await open();
    const { body } = await request(app).get('/openapi.json');
    let tried = 0;
    for (const [path, item] of Object.entries(body.paths as Record<string, Record<string, any>>)) {
      const examples: unknown[] = item.post?.requestBody?.content?.['application/json']?.schema?.examples ?? [];
      for (const example of examples) {
        const res = await request(app).post(path).send(example as object);
        expect(res.status, `${path} ${JSON.stringify(example)}`).toBe(200);
        tried++;
      }
    }
    expect(tried).toBeGreaterThanOrEqual(4);
  });
});
