import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { json, post, startServer } from '../helpers/server-process.ts';
import { ATS } from '../helpers/service.ts';
import { tempDir } from '../helpers/temp-dir.ts';

const nestedText = (depth: number) => `${'['.repeat(depth)}"deepest"${']'.repeat(depth)}`;
const depthOf = (value: unknown) => {
  let depth = 0;
  for (let v = value; Array.isArray(v); v = v[0]) depth++;
  return depth;
};

describe('a trading state nested absurdly deep', () => {
  it.each([2_500, 100_000])('%i levels: /auto_trading/status serves it as it is, on every call, and saves keep it', async (depth) => {
    const dir = await tempDir();
    await writeFile(join(dir, ATS), `{"enabled": true, "balance": 1500, "model": ${nestedText(depth)}}`);
    const server = await startServer({ DATA_DIR: dir });
    for (let call = 0; call < 2; call++) {
      const { status, body } = await json(`${server.url}/auto_trading/status`);
      expect(status).toBe(200);
      expect(body.data).toMatchObject({ enabled: true, balance: 1500 });
      expect(depthOf(body.data.model)).toBe(depth);
      expect(depthOf(body.auto_trading.model)).toBe(depth);
    }
    expect((await post(`${server.url}/virtual_balance`, { balance: 1600 })).status).toBe(200);
    expect((await json(`${server.url}/auto_trading/status`)).body.data.balance).toBe(1600);
    expect(await readFile(join(dir, ATS), 'utf8')).toContain(nestedText(depth));
  });

  it('a change whose body is nested as deep as 16 KiB allows, with an Idempotency-Key: answered, not a 500', async () => {
    const server = await startServer({ DATA_DIR: await tempDir() });
    const body = `{"balance": 2000, "note": ${nestedText(8_000)}}`;
    const first = await post(`${server.url}/virtual_balance`, body, { 'Idempotency-Key': 'deep-1' });
    expect(first.status).toBe(200);
    const again = await post(`${server.url}/virtual_balance`, body, { 'Idempotency-Key': 'deep-1' });
    expect(again.headers.get('idempotency-replayed')).toBe('true');
  });
});
