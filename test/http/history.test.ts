import { readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import request from 'supertest';
import { afterEach, describe, expect, it } from 'vitest';
import { JOURNAL_FILE } from '../../src/store/journal.ts';
import { ATS, openService, VB, type TestService } from '../helpers/service.ts';
import { readJson, tempDir } from '../helpers/temp-dir.ts';

let service: TestService | undefined;
afterEach(async () => {
  await service?.close();
  service = undefined;
});

describe('journal and history', () => {
  it('records every change with its source, newest first', async () => {
    const dir = await tempDir();
    service = await openService(dir);
    const { app } = service;
    await request(app).post('/virtual_balance').set('Idempotency-Key', 'trade-1').send({ delta: -100, reason: 'fee' }).expect(200);
    await request(app).post('/virtual_balance/reset').expect(200);
    await writeFile(join(dir, ATS), '{"balance": 123.45, "enabled": true}');
    await service.balance.sync();
    const { entries } = (await request(app).get('/virtual_balance/history').expect(200)).body;
    expect(entries).toEqual([
      { revision: 4, at: expect.any(String), balance: 123.45, previous: 10000, source: `external:${ATS}` },
      { revision: 3, at: expect.any(String), balance: 10000, previous: 9900, source: 'reset' },
      { revision: 2, at: expect.any(String), balance: 9900, previous: 10000, source: 'api', reason: 'fee', idempotency_key: 'trade-1' },
      { revision: 1, at: expect.any(String), balance: 10000, previous: null, source: 'startup', reason: expect.any(String) },
    ]);
  });

  it.each(['0', '1001', 'abc', '-1', '2.5'])('rejects limit=%s with 400', async (limit) => {
    service = await openService(await tempDir());
    const res = await request(service.app).get(`/virtual_balance/history?limit=${limit}`).expect(400);
    expect(res.body.errors[0].path).toBe('limit');
  });

  it('returns at most limit entries, 50 by default', async () => {
    service = await openService(await tempDir());
    for (let i = 0; i < 60; i++) await request(service.app).post('/virtual_balance').send({ delta: 1 });
    expect((await request(service.app).get('/virtual_balance/history')).body.entries).toHaveLength(50);
    expect((await request(service.app).get('/virtual_balance/history?limit=3')).body.entries).toHaveLength(3);
  });

  it('restores the balance from the journal when both files are corrupt', async () => {
    const dir = await tempDir();
    service = await openService(dir);
    await request(service.app).post('/virtual_balance').send({ balance: 4242.42 }).expect(200);
    await service.close();
    await writeFile(join(dir, VB), '{oops');
    await writeFile(join(dir, ATS), '');
    service = await openService(dir);
    expect((await request(service.app).get('/virtual_balance')).body).toMatchObject({ balance: 4242.42, revision: 2 });
    expect(await readJson(join(dir, ATS))).toMatchObject({ balance: 4242.42 });
    expect((await readdir(dir)).filter((n) => n.includes('.corrupt-'))).toHaveLength(2);
  });

  it('recognises an idempotency key from a rotated segment after a restart', async () => {
    const dir = await tempDir();
    service = await openService(dir, { journalMaxBytes: 4096 });
    const first = await request(service.app).post('/virtual_balance').set('Idempotency-Key', 'old-key').send({ delta: 3 }).expect(200);
    for (let i = 0; i < 80; i++) await request(service.app).post('/virtual_balance').send({ delta: 1, reason: 'padding the journal past its size' });
    expect((await readdir(dir)).some((n) => n.startsWith(`${JOURNAL_FILE}.`))).toBe(true);
    await service.close();
    service = await openService(dir, { journalMaxBytes: 4096 });
    const again = await request(service.app).post('/virtual_balance').set('Idempotency-Key', 'old-key').send({ delta: 3 }).expect(200);
    expect(again.body).toEqual(first.body);
    expect((await request(service.app).get('/virtual_balance/history?limit=100')).body.entries).toHaveLength(82);
  });
});
