import { execFileSync } from 'node:child_process';
import { mkdir, readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { json, post, startServer, type ServerProcess } from '../helpers/server-process.ts';
import { tempDir } from '../helpers/temp-dir.ts';
import { waitFor } from '../helpers/wait.ts';

const JOURNAL = 'balance_journal.jsonl';
const cleanups: (() => void)[] = [];
afterEach(() => {
  for (const cleanup of cleanups.splice(0)) cleanup();
});

const book = (server: ServerProcess, key: string) => post(`${server.url}/virtual_balance`, { delta: 1 }, { 'Idempotency-Key': key });
const keys = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => `trade-${from + i}`);
const metric = async (server: ServerProcess, name: string) => (await (await fetch(`${server.url}/metrics`)).text()).split('\n').find((line) => line.startsWith(name));

/** Restarts after kill -9 and replays every key: each must be answered as before, none applied again. */
async function replayAfterRestart(dir: string, server: ServerProcess, all: string[], balance: number) {
  await server.kill('SIGKILL');
  const again = await startServer({ DATA_DIR: dir });
  const replies = await Promise.all(all.map((key) => book(again, key)));
  expect(replies.map((r) => r.status)).toEqual(all.map(() => 200));
  expect(replies.filter((r) => r.headers.get('idempotency-replayed') !== 'true').length, 'keys applied again').toBe(0);
  expect((await json(`${again.url}/virtual_balance`)).body.balance).toBe(balance);
  return again;
}

describe('the journal, deleted or replaced while the service runs', () => {
  it('deleted under load: every change is acknowledged and kept; after a restart no key is applied twice', async () => {
    const dir = await tempDir();
    const server = await startServer({ DATA_DIR: dir });
    for (const key of keys(1, 10)) expect((await book(server, key)).status).toBe(200);

    await rm(join(dir, JOURNAL));
    const underLoad = await Promise.all(keys(11, 40).map((key) => book(server, key)));
    expect(underLoad.map((r) => r.status)).toEqual(keys(11, 40).map(() => 200));

    const { body: health } = await json(`${server.url}/health`);
    expect(health).toMatchObject({ status: 'ok', journal: { file: JOURNAL, ok: true, recreated: { reason: 'was deleted' } } });
    expect(server.logs.some((l) => l.level === 50 && String(l.msg).includes('journal was deleted while the service ran'))).toBe(true);
    expect(await metric(server, 'balance_sync_journal_recreations_total')).toBe('balance_sync_journal_recreations_total{reason="was deleted"} 1');
    expect((await json(`${server.url}/virtual_balance/history?limit=1000`)).body.entries).toHaveLength(41);

    await replayAfterRestart(dir, server, keys(1, 40), 10_040);
  });

  it('deleted while nothing changes: put back within a second', async () => {
    const dir = await tempDir();
    const server = await startServer({ DATA_DIR: dir });
    for (const key of keys(1, 3)) await book(server, key);
    await rm(join(dir, JOURNAL));
    await waitFor(async () => (await json(`${server.url}/health`)).body.journal.recreated, 2_000, 'the journal to be put back');
    expect((await readdir(dir)).includes(JOURNAL)).toBe(true);
    await replayAfterRestart(dir, server, keys(1, 3), 10_003);
  });

  it('deleted right before a clean stop (SIGTERM within the second between looks): put back before exiting, no key applied twice after the restart', async () => {
    const dir = await tempDir();
    const server = await startServer({ DATA_DIR: dir });
    for (const key of keys(1, 10)) await book(server, key);
    await rm(join(dir, JOURNAL));
    await server.kill('SIGTERM');
    expect((await readdir(dir)).includes(JOURNAL)).toBe(true);
    const again = await startServer({ DATA_DIR: dir });
    const replies = await Promise.all(keys(1, 10).map((key) => book(again, key)));
    expect(replies.filter((r) => r.headers.get('idempotency-replayed') !== 'true').length, 'keys applied again').toBe(0);
    expect((await json(`${again.url}/virtual_balance`)).body.balance).toBe(10_010);
  });

  it('replaced by a directory: the directory is kept beside, the journal put back; the restart does not fail with EISDIR', async () => {
    const dir = await tempDir();
    const server = await startServer({ DATA_DIR: dir });
    for (const key of keys(1, 5)) await book(server, key);
    await rm(join(dir, JOURNAL));
    await mkdir(join(dir, JOURNAL));
    const replies = await Promise.all(keys(6, 15).map((key) => book(server, key)));
    expect(replies.map((r) => r.status)).toEqual(keys(6, 15).map(() => 200));
    expect((await json(`${server.url}/health`)).body.journal).toMatchObject({ ok: true, recreated: { reason: 'was replaced by a directory', movedAside: expect.stringMatching(/^balance_journal\.jsonl\.displaced-/) } });
    await replayAfterRestart(dir, server, keys(1, 15), 10_015);
  });

  it('made unwritable (chattr +i): changes are 503 and /health names the journal (503) until it is writable again', async (context) => {
    const dir = await tempDir();
    const server = await startServer({ DATA_DIR: dir });
    expect((await book(server, 'trade-1')).status).toBe(200);
    try {
      execFileSync('chattr', ['+i', join(dir, JOURNAL)], { stdio: 'ignore' });
    } catch {
      return context.skip('chattr +i is not supported here');
    }
    cleanups.push(() => execFileSync('chattr', ['-i', join(dir, JOURNAL)], { stdio: 'ignore' }));

    expect((await book(server, 'trade-2')).status).toBe(503);
    const health = await json(`${server.url}/health`);
    expect(health.status).toBe(503);
    expect(health.body).toMatchObject({ status: 'error', journal: { file: JOURNAL, ok: false, problem: expect.stringMatching(/^cannot be written/) } });
    expect(await metric(server, 'balance_sync_journal_ok')).toBe('balance_sync_journal_ok 0');
    expect(await metric(server, 'balance_sync_ready')).toBe('balance_sync_ready 0');
    expect((await json(`${server.url}/virtual_balance`)).body.balance).toBe(10_001); // reads go on

    execFileSync('chattr', ['-i', join(dir, JOURNAL)], { stdio: 'ignore' });
    await waitFor(async () => (await json(`${server.url}/health`)).status === 200, 2_000, '/health to be 200 again');
    expect(await metric(server, 'balance_sync_journal_ok')).toBe('balance_sync_journal_ok 1');
    expect((await book(server, 'trade-2')).status).toBe(200);
    await replayAfterRestart(dir, server, keys(1, 2), 10_002);
  });
});

describe('what stands in the journal\'s place at start-up', () => {
  it('a directory named like a segment: skipped with a warn, the service starts', async () => {
    const dir = await tempDir();
    await mkdir(join(dir, `${JOURNAL}.99`));
    const server = await startServer({ DATA_DIR: dir });
    expect(server.logs.some((l) => l.level === 40 && l.file === `${JOURNAL}.99`)).toBe(true);
    expect((await book(server, 'trade-1')).status).toBe(200);
  });

  it('missing (deleted while the service was stopped): the files\' balance is kept, and an error says the keys are not remembered', async () => {
    const dir = await tempDir();
    let server = await startServer({ DATA_DIR: dir });
    for (const key of keys(1, 3)) await book(server, key);
    await server.kill('SIGTERM');
    await rm(join(dir, JOURNAL));
    server = await startServer({ DATA_DIR: dir });
    expect((await json(`${server.url}/virtual_balance`)).body.balance).toBe(10_003);
    expect(server.logs.filter((l) => l.level === 50 && String(l.msg).startsWith('the journal is missing although the files carry revision 4'))).toHaveLength(1);
  });

  it('a directory in the journal\'s place: moved aside, logged at error, the service starts from the files', async () => {
    const dir = await tempDir();
    let server = await startServer({ DATA_DIR: dir });
    await book(server, 'trade-1');
    await server.kill('SIGKILL');
    await rm(join(dir, JOURNAL));
    await mkdir(join(dir, JOURNAL));
    server = await startServer({ DATA_DIR: dir });
    expect((await json(`${server.url}/virtual_balance`)).body.balance).toBe(10_001);
    expect(server.logs.some((l) => l.level === 50 && String(l.msg).includes('not a file at start-up'))).toBe(true);
    expect((await readdir(dir)).some((n) => n.startsWith(`${JOURNAL}.displaced-`))).toBe(true);
  });
});
