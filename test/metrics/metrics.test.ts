import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import request from 'supertest';
import { afterEach, describe, expect, it } from 'vitest';
import { startLegacyBackend, type LegacyBackend } from '../helpers/legacy-backend.ts';
import { ATS, openService, VB, type TestService, type TestServiceOptions } from '../helpers/service.ts';
import { connect, type SseClient } from '../helpers/sse.ts';
import { readJson, tempDir } from '../helpers/temp-dir.ts';
import { waitFor } from '../helpers/wait.ts';

let service: TestService | undefined;
let backend: LegacyBackend | undefined;
let server: import('node:http').Server | undefined;
let client: SseClient | undefined;
afterEach(async () => {
  client?.close();
  await new Promise((resolve) => (server ? server.close(resolve) : resolve(undefined)));
  await service?.close();
  await backend?.stop();
  service = backend = server = client = undefined;
});

async function open(options: TestServiceOptions = {}, seed?: (dir: string) => Promise<void>) {
  const dir = await tempDir();
  await seed?.(dir);
  service = await openService(dir, options);
  return { dir, app: service.app };
}

/** Prometheus text format → `name{label="value",…}` → number. */
function parse(text: string): Map<string, number> {
  const samples = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const match = /^([a-zA-Z_:][a-zA-Z0-9_:]*(?:\{[^}]*\})?) (\S+)$/.exec(line);
    if (!match) throw new Error(`not a Prometheus sample line: ${line}`);
    samples.set(match[1] as string, Number(match[2]));
  }
  return samples;
}

async function scrape(app: TestService['app']): Promise<Map<string, number>> {
  const res = await request(app).get('/metrics').expect(200);
  expect(res.headers['content-type']).toMatch(/^text\/plain; version=0\.0\.4/);
  return parse(res.text);
}

describe('GET /metrics', () => {
  it('serves the process metrics and the balance, revision, files-agree and readiness the API serves', async () => {
    const { app } = await open();
    await request(app).post('/virtual_balance').send({ balance: '15000.25' }).expect(200);
    const metrics = await scrape(app);
    const { body } = await request(app).get('/health');
    expect(metrics.get('balance_sync_balance')).toBe(15000.25);
    expect(metrics.get('balance_sync_revision')).toBe(body.revision);
    expect(metrics.get('balance_sync_files_agree')).toBe(1);
    expect(metrics.get('balance_sync_ready')).toBe(1);
    expect(metrics.has('process_cpu_user_seconds_total')).toBe(true);
    expect(metrics.has('nodejs_heap_size_used_bytes')).toBe(true);
  });

  it('counts saves by outcome and times them', async () => {
    const { app } = await open();
    const before = await scrape(app);
    for (let i = 0; i < 3; i++) await request(app).post('/virtual_balance').send({ delta: 1 }).expect(200);
    const after = await scrape(app);
    const committed = 'balance_sync_saves_total{outcome="committed"}';
    expect((after.get(committed) ?? 0) - (before.get(committed) ?? 0)).toBe(3);
    expect((after.get('balance_sync_save_duration_seconds_count') ?? 0) - (before.get('balance_sync_save_duration_seconds_count') ?? 0)).toBe(3);
    expect(after.get('balance_sync_save_duration_seconds_bucket{le="1"}')).toBe(after.get('balance_sync_save_duration_seconds_count'));
  });

  it('does not count a look at the files that found nothing to write as a save', async () => {
    const { app } = await open();
    const before = (await scrape(app)).get('balance_sync_saves_total{outcome="committed"}');
    for (let i = 0; i < 3; i++) await service!.balance.sync();
    expect((await scrape(app)).get('balance_sync_saves_total{outcome="committed"}')).toBe(before);
  });

  it('counts outside edits adopted and stale write-backs refused, by file', async () => {
    const { dir, app } = await open({ watch: true });
    const cached = await readJson(join(dir, ATS));
    await request(app).post('/virtual_balance').send({ balance: 500 }).expect(200);
    await writeFile(join(dir, ATS), JSON.stringify({ ...cached, enabled: true }));
    await waitFor(async () => (await scrape(app)).get(`balance_sync_stale_write_backs_refused_total{file="${ATS}"}`) === 1, 1_000, 'the refusal');
    await writeFile(join(dir, VB), '{"balance": 42}');
    await waitFor(async () => (await scrape(app)).get(`balance_sync_outside_edits_adopted_total{file="${VB}"}`) === 1, 1_000, 'the adoption');
    expect((await scrape(app)).get('balance_sync_balance')).toBe(42);
  });

  it('counts quarantines by file, start-up included', async () => {
    const { app } = await open({}, async (dir) => {
      await writeFile(join(dir, VB), '{"balance": 5}');
      await writeFile(join(dir, ATS), 'not json');
    });
    expect((await scrape(app)).get(`balance_sync_quarantines_total{file="${ATS}"}`)).toBe(1);
  });

  it('shows how many clients follow the event stream', async () => {
    const { app } = await open();
    server = (await import('node:http')).createServer(app);
    await new Promise<void>((resolve) => server!.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as import('node:net').AddressInfo;
    client = await connect(`http://127.0.0.1:${port}/virtual_balance/events`);
    await client.next();
    expect((await scrape(app)).get('balance_sync_event_stream_clients')).toBe(1);
    client.close();
    await waitFor(async () => (await scrape(app)).get('balance_sync_event_stream_clients') === 0, 1_000, 'the client to go');
  });

  it('counts forwarded requests by status class, and the upstream latency', async () => {
    const dir = await tempDir();
    backend = await startLegacyBackend({ dataDir: dir });
    service = await openService(dir, { upstreamUrl: backend.url });
    const { app } = service;
    await request(app).get('/trades/recent').expect(200);
    await request(app).get('/error500').expect(500);
    await request(app).get('/nowhere').expect(404);
    await backend.stop();
    await request(app).get('/trades/recent').expect(502);
    const metrics = await scrape(app);
    expect(metrics.get('balance_sync_forwarded_requests_total{class="2xx"}')).toBe(1);
    expect(metrics.get('balance_sync_forwarded_requests_total{class="4xx"}')).toBe(1);
    expect(metrics.get('balance_sync_forwarded_requests_total{class="5xx"}')).toBe(2);
    expect(metrics.get('balance_sync_upstream_latency_seconds_count')).toBe(3);
  });
});
