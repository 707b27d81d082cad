// One request in, one request out (SPEC: Fronting the legacy backend). Raw sockets on the client
// side; on the other, an upstream that believes any framing it is shown and logs every request it
// parses. That log is the oracle: it must hold exactly the requests the service forwarded, and never
// one for an own path — whatever a client sends, with API_TOKEN set and no token.

import { once } from 'node:events';
import { connect } from 'node:net';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { canonicalPath } from '../../src/http/own-routes.ts';
import { startOracleUpstream, type OracleUpstream } from '../helpers/oracle-upstream.ts';
import { exchange, listenOn, statusesOf } from '../helpers/raw-http.ts';
import { openService, type TestService } from '../helpers/service.ts';
import { tempDir } from '../helpers/temp-dir.ts';
import { waitFor } from '../helpers/wait.ts';

vi.setConfig({ testTimeout: 60_000 });

let upstream: OracleUpstream;
let service: TestService;
let door: Awaited<ReturnType<typeof listenOn>>;

beforeEach(async () => {
  upstream = await startOracleUpstream();
  service = await openService(await tempDir(), { upstreamUrl: upstream.url, apiToken: 'secret' });
  door = await listenOn(service);
});

afterEach(async () => {
  await door.close();
  await service.close();
  await upstream.close();
});

const OWN = /^\/(virtual_balance(\/.*)?|auto_trading\/status|balance|health|metrics|openapi\.json|balance-sync(\/.*)?)$/i;
const ownPathsReached = () => upstream.parsed.filter((r) => OWN.test(canonicalPath(r.target.split('?')[0] ?? '')));

/** Requests the service forwarded, as it counts them (every one answered by the upstream or failed). */
async function forwardedCount(): Promise<number> {
  const metric = await service.metrics.registry.getSingleMetric('balance_sync_forwarded_requests_total')?.get();
  return (metric?.values ?? []).reduce((sum, { value }) => sum + value, 0);
}

/** The request the attacker wants the legacy backend to run: its own balance route, no token. */
const SMUGGLED = 'POST /virtual_balance HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: 16\r\n\r\n{"balance":4242}';
/** Closes the exchange: an own route, answered by the service, then the connection ends. */
const CLOSER = 'GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n';

const chunked = (payload: string) => `${payload.length > 0 ? `${Buffer.byteLength(payload).toString(16)}\r\n${payload}\r\n` : ''}0\r\n\r\n`;

/** Sends raw bytes (then the closer) and checks the oracle: what was forwarded is all that was parsed. */
async function attack(bytes: string, what: string): Promise<string> {
  const [parsedBefore, forwardedBefore] = [upstream.parsed.length, await forwardedCount()];
  const received = await exchange(door.port, bytes + CLOSER);
  await waitFor(() => upstream.unparsedBytes() === 0, 1_000, `the upstream to have parsed all it received (${what})`);
  const counts = async () => ({ what, parsed: upstream.parsed.length - parsedBefore, forwarded: (await forwardedCount()) - forwardedBefore });
  // A forwarded request whose client went away is counted when the service sees it go.
  await waitFor(async () => ((c) => c.parsed === c.forwarded)(await counts()), 500, 'the counts to settle').catch(() => {});
  const { parsed, forwarded } = await counts();
  expect({ what, parsed }).toEqual({ what, parsed: forwarded });
  expect(ownPathsReached()).toEqual([]);
  return received;
}

const unchanged = () => expect(service.balance.snapshot()).toMatchObject({ balance: 10_000n * 100_000_000n, revision: 1 });

const METHODS = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS', 'TRACE'];

describe('the PortSwigger catalogue, on every method', () => {
  it.each(METHODS)('CL.TE: %s with Content-Length and Transfer-Encoding is 400 and never forwarded', async (method) => {
    const body = `0\r\n\r\n${SMUGGLED}`;
    const received = await attack(`${method} /echo HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: ${body.length}\r\nTransfer-Encoding: chunked\r\n\r\n${body}`, 'CL.TE');
    expect(statusesOf(received)[0]).toBe(400);
    expect(upstream.parsed).toEqual([]);
    unchanged();
  });

  it.each(METHODS)('TE.CL: %s with Transfer-Encoding and a short Content-Length is 400 and never forwarded', async (method) => {
    const inner = `${Buffer.byteLength(SMUGGLED).toString(16)}\r\n${SMUGGLED}\r\n0\r\n\r\n`;
    const received = await attack(`${method} /echo HTTP/1.1\r\nHost: 127.0.0.1\r\nTransfer-Encoding: chunked\r\nContent-Length: 4\r\n\r\n${inner}`, 'TE.CL');
    expect(statusesOf(received)[0]).toBe(400);
    expect(upstream.parsed).toEqual([]);
    unchanged();
  });

  const obfuscations = [
    'Transfer-Encoding: xchunked',
    'Transfer-Encoding : chunked',
    'Transfer-Encoding: chunked\r\nTransfer-Encoding: x',
    'Transfer-Encoding: x\r\nTransfer-Encoding: chunked',
    'Transfer-Encoding:\tchunked',
    ' Transfer-Encoding: chunked',
    'X: X\r\n Transfer-Encoding: chunked',
    'Transfer-Encoding\r\n : chunked',
    'Transfer-Encoding: chunked, identity',
    'Transfer-Encoding: identity, chunked',
    'Transfer-Encoding: chunked, chunked',
  ];
  it.each(METHODS.flatMap((method) => obfuscations.map((te) => [method, te] as const)))('TE.TE: %s with "%s" beside a Content-Length reaches the upstream as one request or not at all', async (method, te) => {
    const body = `0\r\n\r\n${SMUGGLED}`;
    await attack(`${method} /echo HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: ${body.length}\r\n${te}\r\n\r\n${body}`, `TE.TE ${te}`);
    expect(upstream.parsed.length).toBeLessThanOrEqual(1);
    unchanged();
  });

  it.each(METHODS)('CL.0: %s whose body is a whole request reaches an upstream that ignores bodies as one request', async (method) => {
    await attack(`${method} /echo HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: ${SMUGGLED.length}\r\n\r\n${SMUGGLED}`, 'CL.0');
    expect(upstream.parsed.map((r) => `${r.method} ${r.target}`)).toEqual([`${method} /echo`]);
    unchanged();
  });

  it.each(METHODS)('h2c: %s offering Upgrade: h2c is answered in HTTP/1.1 and forwarded without the offer', async (method) => {
    const received = await attack(
      `${method} /echo HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: Upgrade, HTTP2-Settings\r\nUpgrade: h2c\r\nHTTP2-Settings: AAMAAABkAAQCAAAAAAIAAAAA\r\nContent-Length: ${SMUGGLED.length}\r\n\r\n${SMUGGLED}`,
      'h2c',
    );
    expect(received).not.toMatch(/^HTTP\/1\.1 101/m);
    expect(upstream.parsed).toHaveLength(1);
    expect(upstream.parsed[0]?.headers).not.toHaveProperty('upgrade');
    expect(upstream.parsed[0]?.headers).not.toHaveProperty('http2-settings');
    unchanged();
  });
});

describe('the tricks that walked around the last front door', () => {
  it.each(['DELETE', 'OPTIONS'])('%s with a chunked body holding a whole POST /virtual_balance: one request upstream, the body its body', async (method) => {
    await attack(`${method} /echo HTTP/1.1\r\nHost: 127.0.0.1\r\nTransfer-Encoding: chunked\r\n\r\n${chunked(SMUGGLED)}`, 'body on a bodiless method');
    expect(upstream.parsed).toHaveLength(1);
    expect(upstream.parsed[0]).toMatchObject({ method, target: '/echo' });
    unchanged();
  });

  it.each(['GET', 'HEAD', 'DELETE', 'OPTIONS', 'TRACE'].flatMap((method) => [
    [method, 'content-length', `Content-Length: ${SMUGGLED.length}\r\n\r\n${SMUGGLED}`],
    [method, 'transfer-encoding', `Transfer-Encoding: chunked\r\n\r\n${chunked(SMUGGLED)}`],
  ]))('%s naming its framing in Connection (%s): the framing is the service\'s, one request upstream', async (method, named, rest) => {
    await attack(`${method} /trades HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: ${named}\r\n${rest}`, `Connection: ${named}`);
    expect(upstream.parsed.map((r) => `${r.method} ${r.target}`)).toEqual([`${method} /trades`]);
    unchanged();
  });

  it('no poisoning: a client never receives the answer to a request it did not send', async () => {
    for (let round = 0; round < 5; round++) {
      // If the body were taken for a request, its slow answer would queue up on a pooled connection.
      const smuggledSlow = 'GET /slow-smuggled HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n';
      const first = attack(`GET /trades HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: content-length\r\nContent-Length: ${smuggledSlow.length}\r\n\r\n${smuggledSlow}`, 'poison');
      const victim = await exchange(door.port, `GET /trades/recent?victim=${round} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n`);
      await first;
      expect(victim).toContain(`"answered":"/trades/recent?victim=${round}"`);
    }
    expect(upstream.parsed.filter((r) => r.target.startsWith('/slow'))).toEqual([]);
  });
});

describe('a generated matrix: method × framing × Connection × body', () => {
  const framings: Record<string, (payload: string) => string> = {
    none: (p) => `\r\n${p}`,
    length: (p) => `Content-Length: ${Buffer.byteLength(p)}\r\n\r\n${p}`,
    'length, then more': (p) => `Content-Length: 5\r\n\r\nhello${p}`,
    chunked: (p) => `Transfer-Encoding: chunked\r\n\r\n${chunked(p)}`,
    CHUNKED: (p) => `Transfer-Encoding: CHUNKED\r\n\r\n${chunked(p)}`,
    'length and chunked': (p) => `Content-Length: ${chunked(p).length}\r\nTransfer-Encoding: chunked\r\n\r\n${chunked(p)}`,
    'chunked and length': (p) => `Transfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\n${chunked(p)}`,
    'two lengths': (p) => `Content-Length: ${Buffer.byteLength(p)}\r\nContent-Length: ${Buffer.byteLength(p)}\r\n\r\n${p}`,
    'a list of lengths': (p) => `Content-Length: ${Buffer.byteLength(p)}, ${Buffer.byteLength(p)}\r\n\r\n${p}`,
    'a signed length': (p) => `Content-Length: +${Buffer.byteLength(p)}\r\n\r\n${p}`,
    xchunked: (p) => `Transfer-Encoding: xchunked\r\nContent-Length: ${Buffer.byteLength(p)}\r\n\r\n${p}`,
    'chunked, identity': (p) => `Transfer-Encoding: chunked, identity\r\n\r\n${chunked(p)}`,
    'chunked twice': (p) => `Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n${chunked(chunked(p))}`,
    'folded chunked': (p) => `Transfer-Encoding: x\r\n chunked\r\n\r\n${chunked(p)}`,
  };
  const connections = [null, 'keep-alive', 'close', 'content-length', 'transfer-encoding', 'Content-Length, Transfer-Encoding', 'upgrade', 'x-forwarded-for, host'];
  const payloads = ['', 'qty=1&side=buy', SMUGGLED, `0\r\n\r\n${SMUGGLED}`];
  const cases = METHODS.flatMap((method) =>
    Object.keys(framings).flatMap((framing) => connections.map((connection, i) => ({ method, framing, connection, payload: payloads[(i + framing.length) % payloads.length] as string }))),
  );

  it(`holds for all ${cases.length} combinations: the upstream parses exactly what was forwarded, never an own path`, async () => {
    expect(cases.length).toBeGreaterThanOrEqual(500);
    for (const [n, { method, framing, connection, payload }] of cases.entries()) {
      const head = `${method} /echo/${n} HTTP/1.1\r\nHost: 127.0.0.1\r\n${connection === null ? '' : `Connection: ${connection}\r\n`}`;
      const build = framings[framing] as (p: string) => string;
      await attack(head + build(payload), `#${n} ${method}, ${framing}, Connection: ${connection}, ${JSON.stringify(payload.slice(0, 12))}`);
    }
    unchanged();
    // Every request the upstream parsed is one the service sent: its own X-Request-Id, its X-Forwarded-For.
    for (const parsed of upstream.parsed) expect(parsed.headers['x-forwarded-for']).toMatch(/127\.0\.0\.1/);
  });
});

describe('what still goes through, as it came', () => {
  it('a chunked body arrives whole, in a framing the service wrote', async () => {
    await attack(`POST /upload HTTP/1.1\r\nHost: 127.0.0.1\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n`, 'chunked upload');
    expect(upstream.parsed[0]).toMatchObject({ method: 'POST', target: '/upload', body: 'hello world' });
  });

  it("reuses a client connection's upstream connection for requests without a body, and gives a request with a body one of its own", async () => {
    const get = (i: number) => `GET /trades/${i} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n`;
    await attack(`${get(0)}${get(1)}${get(2)}POST /toggle HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 2\r\n\r\n{}${get(3)}`, 'pipelined on one connection');
    const [a, b, c, post, d] = upstream.parsed.map((r) => ({ connection: r.connection, close: r.headers.connection }));
    expect([b?.connection, c?.connection, post?.connection]).toEqual([a?.connection, a?.connection, a?.connection]);
    expect(post?.close).toBe('close');
    expect(d?.connection).not.toBe(post?.connection);
  });

  it('never lets two client connections share an upstream connection', async () => {
    // One after the other: a pool would hand the first client's idle upstream connection to the next.
    for (const i of [0, 1, 2]) await exchange(door.port, `GET /a/${i} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\nGET /b/${i} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n`);
    await Promise.all([3, 4, 5].map((i) => exchange(door.port, `GET /a/${i} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n`)));
    const byConnection = new Map<number, string[]>();
    for (const r of upstream.parsed) byConnection.set(r.connection, [...(byConnection.get(r.connection) ?? []), r.target.split('/')[2] as string]);
    for (const clients of byConnection.values()) expect(new Set(clients).size).toBe(1);
  });

  it('gives no client the extra answers of a back end that answers once too often', async () => {
    const victims = async (round: number) =>
      Promise.all(
        Array.from({ length: 8 }, (_, i) =>
          exchange(door.port, `GET /orders?victim=${round}-${i} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\nGET /orders?victim=${round}-${i}-again HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n`),
        ),
      );
    for (let round = 0; round < 10; round++) {
      const [, answers] = await Promise.all([exchange(door.port, `GET /twice HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n${CLOSER}`), victims(round)]);
      for (const [i, answer] of answers.entries()) {
        expect(answer).not.toContain('POISON');
        expect(answer).toContain(`"answered":"/orders?victim=${round}-${i}"`);
        expect(answer).toContain(`"answered":"/orders?victim=${round}-${i}-again"`);
      }
    }
  });
});

describe('what an attacker found in the first version of this door', () => {
  it.each([
    ['both framings', 'POST /x HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n'],
    ['two lengths', 'POST /x HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\nhello!'],
    ['a signed length', 'POST /x HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: +5\r\n\r\nhello'],
    ['obs-fold', 'GET /x HTTP/1.1\r\nHost: 127.0.0.1\r\nX-A: a\r\n b\r\n\r\n'],
  ])("a request Node's own parser refuses (%s) is answered 400 in the envelope, not a bare 400", async (_what, bytes) => {
    const received = await exchange(door.port, bytes);
    expect(received).toMatch(/^HTTP\/1\.1 400 /);
    expect(JSON.parse(received.slice(received.indexOf('\r\n\r\n') + 4))).toEqual({ status: 'error', message: expect.stringContaining('nothing was forwarded') });
    expect(upstream.parsed).toEqual([]);
  });

  it('bytes the parser refuses right after a forwarded request never replace its answer: the client gets the upstream\'s answer, then the connection closes', async () => {
    // /slow… is answered after 300 ms: the garbage is read while the answer is on its way.
    const received = await exchange(door.port, 'POST /slow-orders HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 2\r\n\r\nhiBAD\u0000REQUEST\r\n\r\n');
    expect(statusesOf(received)).toEqual([200]);
    expect(received).toContain('"answered":"/slow-orders"');
    expect(upstream.parsed.map((r) => `${r.method} ${r.target} ${r.body}`)).toEqual(['POST /slow-orders hi']);
  });

  it('bytes the parser refuses while an answer streams never land inside it', async () => {
    const socket = connect(door.port, '127.0.0.1');
    let received = '';
    socket.setEncoding('latin1');
    socket.on('data', (chunk: string) => (received += chunk));
    socket.write('GET /virtual_balance/events HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n');
    await waitFor(() => received.includes('event: balance'), 2_000, 'the stream to start');
    const refused = once(door.server, 'clientError');
    socket.write('BAD\u0000 garbage\r\n\r\n');
    await refused; // the handler has run: whatever it wrote is on its way
    await exchange(door.port, CLOSER); // one more round trip for those bytes to arrive
    socket.destroy();
    expect(statusesOf(received)).toEqual([200]);
    expect(received).not.toContain('Bad Request');
  });

  it('one request refused by the door is answered once, whatever follows it', async () => {
    const received = await exchange(door.port, `GET /trades HTTP/1.1\r\nHost: 127.0.0.1\r\nTransfer-Encoding: identity\r\n\r\n${chunked('GET /smuggled HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n')}`);
    expect(statusesOf(received)).toHaveLength(1);
    expect(upstream.parsed).toEqual([]);
  });

  it.each([
    ['a foreign authority beside a loopback Host field is 421', 'http://evil.example:8001/virtual_balance', '127.0.0.1', 421],
    ['a loopback authority beside a foreign Host field is served', 'http://127.0.0.1:8001/virtual_balance', 'evil.example', 200],
  ])('an absolute-form target names the host (RFC 9112 §3.2.2): %s', async (_what, target, host, status) => {
    const received = await exchange(door.port, `GET ${target} HTTP/1.1\r\nHost: ${host}\r\nConnection: close\r\n\r\n`);
    expect(statusesOf(received)).toEqual([status]);
  });

  it('an absolute-form change from a foreign page is judged by the host it names: 403', async () => {
    const received = await exchange(door.port, 'POST http://127.0.0.1:8001/virtual_balance HTTP/1.1\r\nHost: evil.example:8001\r\nOrigin: http://evil.example:8001\r\nAuthorization: Bearer secret\r\nContent-Length: 16\r\nConnection: close\r\n\r\n{"balance":4242}');
    expect(statusesOf(received)).toEqual([403]);
    unchanged();
  });

  it('CONNECT is answered 405 in the envelope, never tunnelled', async () => {
    const received = await exchange(door.port, 'CONNECT 127.0.0.1:22 HTTP/1.1\r\nHost: 127.0.0.1:22\r\n\r\n');
    expect(received).toMatch(/^HTTP\/1\.1 405 /);
    expect(received).toContain('"status":"error"');
    expect(upstream.parsed).toEqual([]);
  });

  it("sets X-Forwarded-Proto and -Host from what it saw, keeping no client's claim, and appends to X-Forwarded-For", async () => {
    await attack('GET /x HTTP/1.1\r\nHost: 127.0.0.1:8001\r\nX-Forwarded-Host: evil.example\r\nX-Forwarded-Proto: gopher\r\nX-Forwarded-For: 10.0.0.7\r\n\r\n', 'spoofed X-Forwarded-*');
    expect(upstream.parsed[0]?.headers).toMatchObject({ 'x-forwarded-host': '127.0.0.1:8001', 'x-forwarded-proto': 'http', 'x-forwarded-for': expect.stringMatching(/^10\.0\.0\.7,.*127\.0\.0\.1$/) });
  });

  it('never passes on a field that a gateway could read as the framing (Transfer_Encoding, Content.Length)', async () => {
    await attack('GET /x HTTP/1.1\r\nHost: 127.0.0.1\r\nTransfer_Encoding: chunked\r\nContent.Length: 40\r\nContent_Length: 40\r\nX_Trade_Id: 7\r\n\r\n', 'look-alike framing');
    expect(Object.keys(upstream.parsed[0]?.headers ?? {})).not.toEqual(expect.arrayContaining([expect.stringMatching(/^(transfer|content)[_.]/)]));
    expect(upstream.parsed[0]?.headers).toMatchObject({ x_trade_id: '7' });
  });
});
