import { existsSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { json, post, startServer, type ServerProcess } from '../helpers/server-process.ts';
import { tempDir } from '../helpers/temp-dir.ts';

// libfaketime (Debian: apt-get install faketime) drives the real server's clock.
const LIBFAKETIME = ['/usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1', '/usr/lib/aarch64-linux-gnu/faketime/libfaketime.so.1', '/usr/lib/faketime/libfaketime.so.1'].find((path) => existsSync(path));
/** The wall clock moved by `offset` ("-2d", "+2d"). libfaketime moves the monotonic clock too, unless told not to. */
const clock = (offset: string, monotonicToo = true): Record<string, string> => ({
  LD_PRELOAD: LIBFAKETIME as string,
  FAKETIME: offset,
  ...(!monotonicToo && { FAKETIME_DONT_FAKE_MONOTONIC: '1' }),
});

const book = (server: ServerProcess, key: string) => post(`${server.url}/virtual_balance`, { delta: 1 }, { 'Idempotency-Key': key });

/** One run of the server on `dir` with `env`: books each key once, then dies by kill -9. */
async function run(dir: string, env: Record<string, string>, keys: string[]) {
  const server = await startServer({ DATA_DIR: dir, ...env });
  for (const key of keys) expect((await book(server, key)).status).toBe(200);
  await server.kill('SIGKILL');
}

/** The next start (with `env`), every key retried: how many were applied again, and the balance. */
async function replay(dir: string, env: Record<string, string>, keys: string[]) {
  const server = await startServer({ DATA_DIR: dir, ...env });
  const replies = await Promise.all(keys.map((key) => book(server, key)));
  expect(replies.map((r) => r.status)).toEqual(keys.map(() => 200));
  return { appliedAgain: replies.filter((r) => r.headers.get('idempotency-replayed') !== 'true').length, balance: (await json(`${server.url}/virtual_balance`)).body.balance };
}

const keys = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => `trade-${from + i}`);

describe.skipIf(!LIBFAKETIME)('a wall clock stepped between changes (libfaketime)', () => {
  it.each([
    ['back', '-2d'],
    ['forward', '+2d'],
  ])('stepped %s by 2 days for one change: at the next start every key is remembered (applied 0 times)', async (_way, offset) => {
    const dir = await tempDir();
    await run(dir, {}, keys(1, 10));
    await run(dir, clock(offset), keys(11, 11));
    await run(dir, {}, keys(12, 21));
    expect(await replay(dir, {}, keys(1, 21))).toEqual({ appliedAgain: 0, balance: 10_021 });
  });

  it('still 2 days ahead at the next start: every key is remembered (a real step never moves the monotonic clock)', async () => {
    const dir = await tempDir();
    await run(dir, {}, keys(1, 10));
    await run(dir, clock('+2d', false), keys(11, 12));
    expect(await replay(dir, clock('+2d', false), keys(1, 12))).toEqual({ appliedAgain: 0, balance: 10_012 });
  });
});
