import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import request from 'supertest';
import { afterEach, describe, expect, it } from 'vitest';
import { ATS, openService, VB, type TestService } from '../helpers/service.ts';
import { readJson, tempDir, writeJson } from '../helpers/temp-dir.ts';

let service: TestService | undefined;
afterEach(async () => {
  await service?.close();
  service = undefined;
});

async function open(seed?: (dir: string) => Promise<void>) {
  const dir = await tempDir();
  await seed?.(dir);
  service = await openService(dir);
  return { dir, app: service.app };
}

describe('GET /virtual_balance', () => {
  it('serves the balance in the legacy envelope with an ETag', async () => {
    const { app } = await open();
    const res = await request(app).get('/virtual_balance').expect(200);
    expect(res.body).toEqual({ status: 'success', balance: 10000, currency: 'USDT', last_updated: expect.any(String), revision: 1 });
    expect(res.headers.etag).toBe('"r1"');
    expect(Number.isNaN(Date.parse(res.body.last_updated))).toBe(false);
  });

  it('answers 304 to If-None-Match with the current ETag, and 200 once the balance moved', async () => {
    const { app } = await open();
    const { headers } = await request(app).get('/virtual_balance');
    await request(app).get('/virtual_balance').set('If-None-Match', headers.etag as string).expect(304);
    await request(app).post('/virtual_balance').send({ balance: 1 }).expect(200);
    await request(app).get('/virtual_balance').set('If-None-Match', headers.etag as string).expect(200);
  });
});

describe('POST /virtual_balance', () => {
  it('sets the balance in both files before answering', async () => {
    const { app, dir } = await open();
    const res = await request(app).post('/virtual_balance').send({ balance: 15000 }).expect(200);
    expect(res.body).toMatchObject({ status: 'success', balance: 15000, revision: 2 });
    expect(await readJson(join(dir, VB))).toMatchObject({ balance: 15000 });
    expect(await readJson(join(dir, ATS))).toMatchObject({ balance: 15000 });
  });

  it('parses the body as JSON whatever its Content-Type, as curl -d sends it', async () => {
    const { app } = await open();
    const res = await request(app)
      .post('/virtual_balance')
      .set('Content-Type', 'application/x-www-form-urlencoded')
      .send('{"balance":"15000.50"}')
      .expect(200);
    expect(res.body.balance).toBe(15000.5);
  });

  it('keeps the trading fields, byte for byte, when the balance changes', async () => {
    const state = '{\n  "enabled": true,\n  "symbol": "BTCUSDT",\n  "balance": 9989.76,\n  "fee_rate": 1.0,\n  "trade_id": 12345678901234567890,\n  "open_trades": [{"id": 1}]\n}\n';
    const { app, dir } = await open(async (d) => {
      await writeJson(join(d, VB), { balance: 9989.76 });
      const { writeFile } = await import('node:fs/promises');
      await writeFile(join(d, ATS), state);
    });
    await request(app).post('/virtual_balance').send({ balance: 15000 }).expect(200);
    const text = await readFile(join(dir, ATS), 'utf8');
    expect(text.startsWith(state.slice(0, state.indexOf('"balance"')))).toBe(true);
    expect(text).toContain('"balance": 15000,\n  "fee_rate": 1.0,\n  "trade_id": 12345678901234567890,\n  "open_trades": [{"id": 1}]');
    const status = await request(app).get('/auto_trading/status').expect(200);
    expect(status.body.data).toMatchObject({ enabled: true, symbol: 'BTCUSDT', balance: 15000, open_trades: [{ id: 1 }] });
    expect(status.body.auto_trading).toEqual(status.body.data);
  });

  it.each([
    [{ balance: -1 }, 'balance'],
    [{ balance: 'abc' }, 'balance'],
    [{ balance: 1e13 }, 'balance'],
    [{ balance: 0.123456789 }, 'balance'],
    [{ balance: true }, 'balance'],
    [{ balance: null }, 'balance'],
    [{}, 'balance'],
    [{ balance: 1, delta: 1 }, 'balance'],
    [{ reason: 'x'.repeat(201), balance: 1 }, 'reason'],
  ])('rejects %j with 400 naming %s, and changes nothing', async (body, path) => {
    const { app, dir } = await open();
    const before = await readFile(join(dir, VB), 'utf8');
    const res = await request(app).post('/virtual_balance').send(body).expect(400);
    expect(res.body).toMatchObject({ status: 'error', message: expect.any(String) });
    expect(res.body.errors).toEqual(expect.arrayContaining([expect.objectContaining({ path, message: expect.any(String) })]));
    expect(await readFile(join(dir, VB), 'utf8')).toBe(before);
    expect((await request(app).get('/virtual_balance')).body.revision).toBe(1);
  });

  it.each([
    ['not JSON', 'nope'],
    ['a JSON array', '[1]'],
    ['a JSON number', '15000'],
    ['an empty body', ''],
  ])('rejects a body that is %s with 400 in the envelope', async (_what, body) => {
    const { app } = await open();
    const res = await request(app).post('/virtual_balance').set('Content-Type', 'application/json').send(body).expect(400);
    expect(res.body.status).toBe('error');
    expect(res.body.errors?.length).toBeGreaterThan(0);
  });

  it('rejects a body over 16 KiB with 413', async () => {
    const { app } = await open();
    const res = await request(app).post('/virtual_balance').send({ balance: 1, reason: 'x'.repeat(17 * 1024) }).expect(413);
    expect(res.body).toMatchObject({ status: 'error' });
  });

  it('answers and stores an amount no double can hold with every digit', async () => {
    const { app, dir } = await open();
    const res = await request(app).post('/virtual_balance').send({ balance: '123456789012.12345678' }).expect(200);
    expect(res.text).toContain('"balance":123456789012.12345678,');
    expect((await request(app).get('/virtual_balance')).text).toContain('"balance":123456789012.12345678,');
    expect(await readFile(join(dir, VB), 'utf8')).toContain('"balance": 123456789012.12345678,');
    expect(await readFile(join(dir, ATS), 'utf8')).toContain('"balance": 123456789012.12345678,');
  });

  it('ignores unknown extra fields', async () => {
    const { app } = await open();
    await request(app).post('/virtual_balance').send({ balance: 5, currency: 'EUR', extra: [1] }).expect(200);
  });
});

describe('POST /virtual_balance/reset', () => {
  it('sets the balance to INITIAL_BALANCE, with or without a body', async () => {
    const { app } = await open();
    await request(app).post('/virtual_balance').send({ balance: 1 }).expect(200);
    const res = await request(app).post('/virtual_balance/reset').expect(200);
    expect(res.body).toMatchObject({ status: 'success', balance: 10000, revision: 3 });
    await request(app).post('/virtual_balance/reset').send({ reason: 'season' }).expect(200);
  });
});

describe('GET /health', () => {
  it('says whether the files agree, with the revision and each file', async () => {
    const { app } = await open();
    const res = await request(app).get('/health').expect(200);
    expect(res.body).toMatchObject({
      status: 'ok',
      files_agree: true,
      revision: 1,
      files: { [VB]: { balance: 10000, mtime: expect.any(String) }, [ATS]: { balance: 10000, mtime: expect.any(String) } },
    });
  });
});

describe('GET /balance', () => {
  it('serves the legacy dashboard\'s shape from the one balance, with an ETag', async () => {
    const { app } = await open();
    await request(app).post('/virtual_balance').send({ balance: '15000.25' }).expect(200);
    const res = await request(app).get('/balance').expect(200);
    expect(res.body).toEqual({ status: 'success', balance: 15000.25, currency: 'USDT', available: 15000.25, locked: 0, revision: 2 });
    await request(app).get('/balance').set('If-None-Match', res.headers.etag as string).expect(304);
  });
});

describe('anything else', () => {
  it('an unknown route is a 404 in the envelope, not an HTML page', async () => {
    const { app } = await open();
    const res = await request(app).get('/nope').expect(404);
    expect(res.headers['content-type']).toMatch(/application\/json/);
    expect(res.body.status).toBe('error');
  });

  it.each([
    ['put', '/virtual_balance', 'GET, HEAD, POST'],
    ['delete', '/auto_trading/status', 'GET, HEAD'],
    ['options', '/virtual_balance', 'GET, HEAD, POST'],
    ['get', '/virtual_balance/reset', 'POST'],
    ['post', '/balance', 'GET, HEAD'],
  ] as const)('%s %s is a 405 in the envelope with Allow: %s', async (method, path, allow) => {
    const { app } = await open();
    const res = await request(app)[method](path).expect(405);
    expect(res.headers['content-type']).toMatch(/application\/json/);
    expect(res.headers.allow).toBe(allow);
    expect(res.body).toMatchObject({ status: 'error', message: expect.stringContaining(allow) });
  });

  it('logs one line per request with its id: polls at debug, changes at info, client errors at warn', async () => {
    const { Writable } = await import('node:stream');
    const { pino } = await import('pino');
    const { createApp } = await import('../../src/app.ts');
    const lines: { level: number; req: { id: string; method: string }; res: { statusCode: number } }[] = [];
    const sink = new Writable({ write: (chunk, _enc, done) => (lines.push(JSON.parse(String(chunk))), done()) });
    await open();
    const { app } = createApp({ balance: service!.balance, history: service!.journal, metrics: service!.metrics, logger: pino({ level: 'debug' }, sink), config: { API_TOKEN: undefined, CORS_ORIGINS: undefined } });
    await request(app).get('/virtual_balance').set('X-Request-Id', 'poll-1');
    await request(app).post('/virtual_balance').send({ balance: 1 });
    await request(app).post('/virtual_balance').send({ balance: -1 });
    const requests = lines.filter((l) => l.req);
    expect(requests.map((l) => [l.req.method, l.res.statusCode, l.level])).toEqual([
      ['GET', 200, 20],
      ['POST', 200, 30],
      ['POST', 400, 40],
    ]);
    expect(requests[0]?.req.id).toBe('poll-1');
    expect(new Set(requests.map((l) => l.req.id)).size).toBe(3);
  });

  it('echoes a client request id', async () => {
    const { app } = await open();
    const res = await request(app).get('/virtual_balance').set('X-Request-Id', 'abc-123');
    expect(res.headers['x-request-id']).toBe('abc-123');
  });
});

describe('amounts exactly as the client wrote them (an attacker found JSON numbers rounded)', () => {
  it('keeps every digit of an amount sent as a JSON number that a double cannot hold', async () => {
    const dir = await tempDir();
    const service = await openService(dir);
    try {
      const set = await request(service.app).post('/virtual_balance').set('Content-Type', 'application/json').send('{"balance": 99999999999.99999999}').expect(200);
      expect(set.text).toContain('"balance":99999999999.99999999');
      const delta = await request(service.app).post('/virtual_balance').send('{"delta": -0.00000001}').expect(200);
      expect(delta.text).toContain('"balance":99999999999.99999998');
      await request(service.app).post('/virtual_balance').send('{"balance": 1.123456789}').expect(400);
    } finally {
      await service.close();
    }
  });

  it.each(['"5.000000000"', '"-0"', '"-1"'])('refuses the string %s as a balance (at most 8 written decimals; no sign)', async (text) => {
    const dir = await tempDir();
    const service = await openService(dir);
    try {
      const res = await request(service.app).post('/virtual_balance').send(`{"balance": ${text}}`).expect(400);
      expect(res.body.errors[0].path).toBe('balance');
    } finally {
      await service.close();
    }
  });

  it('reads a body labelled with another charset as the JSON it is', async () => {
    const dir = await tempDir();
    const service = await openService(dir);
    try {
      await request(service.app).post('/virtual_balance').set('Content-Type', 'text/plain; charset=latin1').send('{"balance": 42}').expect(200);
    } finally {
      await service.close();
    }
  });
});
