// No cross-site writes, no rebound names (SPEC, HTTP API): what a browser on another site can make
// the service do, checked at the HTTP level; test/browser/cross-site.test.ts tries it in Chromium.

import request from 'supertest';
import { afterEach, describe, expect, it } from 'vitest';
import { startLegacyBackend, type LegacyBackend } from '../helpers/legacy-backend.ts';
import { openService, type TestService, type TestServiceOptions } from '../helpers/service.ts';
import { tempDir } from '../helpers/temp-dir.ts';

let service: TestService | undefined;
let backend: LegacyBackend | undefined;
afterEach(async () => {
  await service?.close();
  await backend?.stop();
  service = backend = undefined;
});

async function open(options: TestServiceOptions = {}) {
  service = await openService(await tempDir(), options);
  return service;
}

const revision = async () => (await request(service!.app).get('/virtual_balance').expect(200)).body.revision as number;

describe('a change that names another origin', () => {
  it.each([
    ['POST', '/virtual_balance', '{"balance":4242}'],
    ['POST', '/virtual_balance', '{"delta":-1}'],
    ['POST', '/virtual_balance/reset', ''],
  ])('is 403 in the envelope and changes nothing: %s %s', async (_method, path, body) => {
    const { app } = await open();
    const before = await revision();
    const res = await request(app).post(path).set('Origin', 'http://localhost:9999').set('Content-Type', 'text/plain').send(body).expect(403);
    expect(res.body).toEqual({ status: 'error', message: expect.stringContaining('http://localhost:9999') });
    expect(await revision()).toBe(before);
  });

  it('is 403 with a valid bearer token too: the browser would have sent the cookie-less request all the same', async () => {
    const { app } = await open({ apiToken: 'secret' });
    await request(app).post('/virtual_balance').set('Origin', 'https://evil.example').set('Authorization', 'Bearer secret').send({ balance: 1 }).expect(403);
    expect(await revision()).toBe(1);
  });

  it('is 403 from an opaque origin (a sandboxed frame, a file:// page): Origin: null', async () => {
    const { app } = await open();
    await request(app).post('/virtual_balance').set('Origin', 'null').send({ balance: 1 }).expect(403);
  });

  it("is accepted from the service's own origin, as the request reached it, and from an origin in CORS_ORIGINS", async () => {
    const { app } = await open({ corsOrigins: ['https://dashboard.example'] });
    const own = await request(app).post('/virtual_balance').set('Host', 'localhost:8001').set('Origin', 'http://localhost:8001').send({ balance: 2 }).expect(200);
    expect(own.body.balance).toBe(2);
    await request(app).post('/virtual_balance').set('Origin', 'https://dashboard.example').send({ balance: 3 }).expect(200);
    await request(app).post('/virtual_balance').set('Origin', 'https://other.example').send({ balance: 4 }).expect(403);
    expect((await request(app).get('/virtual_balance')).body.balance).toBe(3);
  });

  it('is accepted from any origin when CORS_ORIGINS is *', async () => {
    const { app } = await open({ corsOrigins: ['*'] });
    await request(app).post('/virtual_balance').set('Origin', 'https://anywhere.example').send({ balance: 5 }).expect(200);
  });

  it('leaves clients that send no Origin (curl, Python requests, servers) as they were', async () => {
    const { app } = await open();
    await request(app).post('/virtual_balance').send({ balance: 6 }).expect(200);
  });

  it('does not stop reads: a GET naming another origin is answered (CORS decides what a browser may see)', async () => {
    const { app } = await open();
    await request(app).get('/virtual_balance').set('Origin', 'https://evil.example').expect(200);
  });

  it('is the legacy backend\'s business on a forwarded route: passed on untouched', async () => {
    backend = await startLegacyBackend({ dataDir: await tempDir() });
    const { app } = await open({ upstreamUrl: backend.url });
    const res = await request(app).post('/echo').set('Origin', 'https://evil.example').send('{}').expect(200);
    expect(res.body.headers.origin).toBe('https://evil.example');
  });
});

describe('an own route asked for under a name that is not this machine, while HOST is loopback', () => {
  it.each(['/virtual_balance', '/auto_trading/status', '/health', '/balance-sync/', '/metrics'])('is 421 on %s', async (path) => {
    const { app } = await open();
    const res = await request(app).get(path).set('Host', 'evil.example:8001').expect(421);
    expect(res.body).toEqual({ status: 'error', message: expect.stringContaining('evil.example') });
  });

  it('is 421 for a change too, which changes nothing', async () => {
    const { app } = await open();
    await request(app).post('/virtual_balance').set('Host', 'rebind.example').send({ balance: 1 }).expect(421);
    expect(await revision()).toBe(1);
  });

  it.each(['localhost:8001', 'LOCALHOST', 'app.localhost:8001', '127.0.0.1', '127.1.2.3:8001', '[::1]:8001'])('is served under %s', async (host) => {
    const { app } = await open();
    await request(app).get('/virtual_balance').set('Host', host).expect(200);
  });

  it.each(['evil@127.0.0.1', '127.0.0.1.evil.example', '127.0.0.1/x', 'localhost.evil.example'])('is 421 under the look-alike %s', async (host) => {
    const { app } = await open();
    await request(app).get('/virtual_balance').set('Host', host).expect(421);
  });

  it('is served under any name when HOST is beyond loopback (the operator chose to expose it)', async () => {
    const { app } = await open({ host: '0.0.0.0' });
    await request(app).get('/virtual_balance').set('Host', 'balance.example').expect(200);
  });

  it('does not apply to forwarded routes: the legacy backend answers for itself', async () => {
    backend = await startLegacyBackend({ dataDir: await tempDir() });
    const { app } = await open({ upstreamUrl: backend.url });
    await request(app).get('/trades/recent').set('Host', 'dashboard.example').expect(200);
  });
});
