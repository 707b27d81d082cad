import { createServer, type Server } from 'node:http';
import request from 'supertest';
import { afterEach, describe, expect, it } from 'vitest';
import { parseEntityTags } from '../../src/http/conditional.ts';
import { openService, type TestService } from '../helpers/service.ts';
import { tempDir } from '../helpers/temp-dir.ts';

let service: TestService | undefined;
let server: Server | undefined;
afterEach(async () => {
  await new Promise((resolve) => (server ? server.close(resolve) : resolve(undefined)));
  await service?.close();
  service = server = undefined;
});

async function open() {
  service = await openService(await tempDir());
  return service.app;
}

async function listen(): Promise<string> {
  const app = await open();
  server = createServer(app);
  await new Promise<void>((resolve) => server!.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  return `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
}

const ROUTES = ['/virtual_balance', '/auto_trading/status', '/balance'];

describe('If-None-Match on the polled routes (RFC 9110 §13.1.2)', () => {
  it.each(ROUTES)("gives Node's own fetch a 304 on %s, although fetch adds Cache-Control and Pragma: no-cache", async (path) => {
    const url = await listen();
    const first = await fetch(`${url}${path}`);
    await first.text();
    const etag = first.headers.get('etag');
    expect(etag).toBeTruthy();
    const again = await fetch(`${url}${path}`, { headers: { 'If-None-Match': etag as string } });
    expect(again.status).toBe(304);
    expect(again.headers.get('etag')).toBe(etag);
  });

  it.each([
    ['the tag alone', (etag: string) => etag],
    ['the tag among others', (etag: string) => `"r999", ${etag}, "x,y"`],
    ['the weak form of the tag', (etag: string) => `W/${etag}`],
    ['*', () => '*'],
  ])('answers 304 to %s, whatever Cache-Control and Pragma say', async (_what, header) => {
    const app = await open();
    const { headers } = await request(app).get('/virtual_balance');
    await request(app)
      .get('/virtual_balance')
      .set('If-None-Match', header(headers.etag as string))
      .set('Cache-Control', 'no-cache')
      .set('Pragma', 'no-cache')
      .expect(304);
  });

  it('answers 200 with the body to a list without the current tag', async () => {
    const app = await open();
    const res = await request(app).get('/virtual_balance').set('If-None-Match', '"r0", W/"r99"').expect(200);
    expect(res.body.balance).toBe(10000);
  });

  it('answers HEAD the same way as GET', async () => {
    const app = await open();
    const { headers } = await request(app).get('/auto_trading/status');
    await request(app).head('/auto_trading/status').set('If-None-Match', headers.etag as string).expect(304);
  });
});

describe('If-Match on a read (RFC 9110 §13.1.1)', () => {
  it.each(ROUTES)('answers %s 412 when If-Match names another version, and as usual when it names this one or *', async (path) => {
    const app = await open();
    const { headers } = await request(app).get(path);
    const res = await request(app).get(path).set('If-Match', '"r999"').expect(412);
    expect(res.body.status).toBe('error');
    await request(app).get(path).set('If-Match', headers.etag as string).expect(200);
    await request(app).get(path).set('If-Match', '*').expect(200);
  });
});

describe('preconditions on a change', () => {
  it('compares If-Match strongly: a weak tag of the current revision is 412 and changes nothing', async () => {
    const app = await open();
    const { headers } = await request(app).get('/virtual_balance');
    await request(app).post('/virtual_balance').set('If-Match', `W/${headers.etag}`).send({ balance: 1 }).expect(412);
    await request(app).post('/virtual_balance').set('If-Match', `"r0", ${headers.etag}`).send({ balance: 2 }).expect(200);
    expect((await request(app).get('/virtual_balance')).body.balance).toBe(2);
  });

  it.each([
    ['*', () => '*'],
    ['the current tag', (etag: string) => etag],
    ['the weak current tag', (etag: string) => `W/${etag}`],
  ])('refuses a POST with If-None-Match %s (412), changing nothing', async (_what, header) => {
    const app = await open();
    const { headers } = await request(app).get('/virtual_balance');
    await request(app).post('/virtual_balance').set('If-None-Match', header(headers.etag as string)).send({ balance: 1 }).expect(412);
    expect((await request(app).get('/virtual_balance')).body).toMatchObject({ balance: 10000, revision: 1 });
  });

  it('applies a POST whose If-None-Match names only older revisions', async () => {
    const app = await open();
    await request(app).post('/virtual_balance').set('If-None-Match', '"r0"').send({ balance: 3 }).expect(200);
  });
});

describe('entity-tag lists', () => {
  it('reads weak and strong tags, commas inside tags included, and skips malformed members', () => {
    expect(parseEntityTags('W/"a", "b,c" , junk, "d"')).toEqual([
      { weak: true, opaque: 'a' },
      { weak: false, opaque: 'b,c' },
      { weak: false, opaque: 'd' },
    ]);
    expect(parseEntityTags(' * ')).toBe('*');
  });
});
