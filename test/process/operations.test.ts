import { execFileSync } from 'node:child_process';
import { once } from 'node:events';
import { mkdir, readFile, rm, rmdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { startLegacyBackend } from '../helpers/legacy-backend.ts';
import { json, post, startExpectingFailure, startServer } from '../helpers/server-process.ts';
import { ATS, VB } from '../helpers/service.ts';
import { tempDir } from '../helpers/temp-dir.ts';
import { waitFor } from '../helpers/wait.ts';

const cleanups: (() => void)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0)) cleanup();
});

const tryRun = (command: string, args: string[]) => {
  try {
    execFileSync(command, args, { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
};

const fileBalances = async (dir: string) => [
  JSON.parse(await readFile(join(dir, VB), 'utf8')).balance,
  JSON.parse(await readFile(join(dir, ATS), 'utf8')).balance,
];

describe('real faults', () => {
  it('a full disk: 503, the old balance stays, the files agree; writes work again once space is freed', async (context) => {
    const dir = join(await tempDir(), 'small');
    await mkdir(dir);
    if (!tryRun('mount', ['-t', 'tmpfs', '-o', 'size=256k', 'tmpfs', dir])) return context.skip('cannot mount a small tmpfs here');
    cleanups.push(() => tryRun('umount', ['-l', dir]));

    const server = await startServer({ DATA_DIR: dir });
    expect((await post(`${server.url}/virtual_balance`, { balance: 100 })).status).toBe(200);
    const filler = join(dir, 'filler');
    await writeFile(filler, Buffer.alloc(1024 * 1024)).catch(() => {}); // fills what it can, then ENOSPC

    const failed = await post(`${server.url}/virtual_balance`, { balance: 200, reason: 'x'.repeat(150) });
    expect(failed.status).toBe(503);
    expect(failed.body.status).toBe('error');
    expect((await json(`${server.url}/virtual_balance`)).body.balance).toBe(100);
    expect(await fileBalances(dir)).toEqual([100, 100]);

    await rm(filler);
    expect((await post(`${server.url}/virtual_balance`, { balance: 300 })).status).toBe(200);
    expect(await fileBalances(dir)).toEqual([300, 300]);
  });

  it('an immutable trading state: the balance file is put back, 503; writes work again once it is writable', async (context) => {
    const dir = await tempDir();
    const server = await startServer({ DATA_DIR: dir });
    expect((await post(`${server.url}/virtual_balance`, { balance: 100 })).status).toBe(200);
    if (!tryRun('chattr', ['+i', join(dir, ATS)])) return context.skip('chattr +i is not supported here');
    cleanups.push(() => tryRun('chattr', ['-i', join(dir, ATS)]));

    expect((await post(`${server.url}/virtual_balance`, { balance: 200 })).status).toBe(503);
    expect(await fileBalances(dir)).toEqual([100, 100]);
    // /health and the metrics tell the truth while the file cannot be written, naming it.
    const health = await json(`${server.url}/health`);
    expect(health.status).toBe(503);
    expect(health.body).toMatchObject({ status: 'error', files_agree: false, balance: 100, failing: { file: ATS } });
    expect(await (await fetch(`${server.url}/metrics`)).text()).toMatch(/^balance_sync_ready 0$/m);

    tryRun('chattr', ['-i', join(dir, ATS)]);
    // The service writes the file again once a second: it recovers by itself, and says so once.
    await waitFor(async () => (await json(`${server.url}/health`)).status === 200, 3_000, 'recovery');
    expect(server.logs.filter((l) => l.msg === 'the file can be written again')).toHaveLength(1);
    expect(server.logs.filter((l) => String(l.msg).startsWith('a save failed'))).toHaveLength(1);
    expect((await post(`${server.url}/virtual_balance`, { balance: 300 })).status).toBe(200);
    expect(await fileBalances(dir)).toEqual([300, 300]);
  });
});

describe('a file that cannot be written or healed', () => {
  it('a folder in the place of the trading state: /health 503 naming it, the metrics agree, one log line; recovered, and said once, when it is a file again', async () => {
    const dir = await tempDir();
    const server = await startServer({ DATA_DIR: dir });
    expect((await post(`${server.url}/virtual_balance`, { balance: 100 })).status).toBe(200);
    await rm(join(dir, ATS));
    await mkdir(join(dir, ATS));

    const { value: health } = await waitFor(async () => {
      const answer = await json(`${server.url}/health`);
      return answer.status === 503 ? answer.body : undefined;
    }, 3_000, '/health to say so');
    expect(health).toMatchObject({ status: 'error', ready: false, files_agree: false, failing: { file: ATS, error: expect.stringContaining('EISDIR') } });
    const metrics = await (await fetch(`${server.url}/metrics`)).text();
    expect(metrics).toMatch(/^balance_sync_ready 0$/m);
    expect(metrics).toMatch(/^balance_sync_files_agree 0$/m);
    for (let i = 0; i < 3; i++) expect((await post(`${server.url}/virtual_balance`, { balance: 200 })).status).toBe(503);
    expect(server.logs.filter((l) => String(l.msg).startsWith('a save failed'))).toHaveLength(1);

    await rmdir(join(dir, ATS));
    await waitFor(async () => (await json(`${server.url}/health`)).status === 200, 3_000, 'recovery');
    expect((await json(`${server.url}/health`)).body).toMatchObject({ ready: true, files_agree: true, balance: 100 });
    expect(server.logs.filter((l) => l.msg === 'the file can be written again')).toHaveLength(1);
    expect(await fileBalances(dir)).toEqual([100, 100]);
    expect(await (await fetch(`${server.url}/metrics`)).text()).toMatch(/^balance_sync_ready 1$/m);
  });
});

describe('one process per data folder', () => {
  it('a second process exits 1 saying the folder is in use', async () => {
    const dir = await tempDir();
    const server = await startServer({ DATA_DIR: dir });
    const second = await startExpectingFailure({ DATA_DIR: dir });
    expect(second.code).toBe(1);
    expect(second.stderr).toMatch(/in use/);
    expect((await json(`${server.url}/virtual_balance`)).status).toBe(200);
  });

  it('the lock of a killed process does not block a restart', async () => {
    const dir = await tempDir();
    let server = await startServer({ DATA_DIR: dir });
    await server.kill('SIGKILL');
    const started = Date.now();
    server = await startServer({ DATA_DIR: dir });
    expect(Date.now() - started).toBeLessThan(2_000);
  });
});

describe('graceful shutdown', () => {
  it.each(['SIGTERM', 'SIGINT'] as const)('%s: a save in flight and the changes queued behind it finish, the files agree, exit 0 within 5 s', async (signal) => {
    const dir = await tempDir();
    // The first save is held open on purpose right after its journal step, until SIGUSR2.
    const server = await startServer({ DATA_DIR: dir, BALANCE_SYNC_HOLD_AFTER: 'journal' });
    // An open event stream must not hold the shutdown up.
    const stream = await fetch(`${server.url}/virtual_balance/events`);
    const held = post(`${server.url}/virtual_balance`, { balance: 1000 });
    await waitFor(() => server.logs.some((l) => String(l.msg).startsWith('holding the save')), 5_000, 'the held save');
    const queued = Array.from({ length: 19 }, (_, i) => post(`${server.url}/virtual_balance`, { balance: 1001 + i }).catch(() => null));

    const started = Date.now();
    server.child.kill(signal);
    await waitFor(() => server.logs.some((l) => l.msg === 'shutting down'), 5_000, 'the shutdown to begin');
    server.child.kill('SIGUSR2'); // the held save goes on: shutdown waits for it
    expect(await server.exited).toBe(0);
    expect(Date.now() - started).toBeLessThan(5_000);
    void stream.body?.cancel().catch(() => {});

    const first = await held;
    expect(first.status).toBe(200);
    const answers = await Promise.all(queued);
    // A change already queued is saved (200); one whose request was still arriving is told to try
    // again (503), or never reached the server before it stopped accepting. Nothing else.
    expect(answers.filter((r) => r !== null && r.status !== 200 && !(r.status === 503 && /shutting down/.test(r.body.message)))).toEqual([]);
    const acked = [first, ...answers.filter((r) => r?.status === 200)].map((r) => r?.body as { balance: number; revision: number });
    const newest = acked.reduce((a, b) => (b.revision > a.revision ? b : a));
    expect(await fileBalances(dir)).toEqual([newest.balance, newest.balance]);
  });

  it('in front of the legacy backend: forwarded event streams and WebSockets do not hold the shutdown up', async () => {
    const dir = await tempDir();
    const legacy = await startLegacyBackend({ dataDir: dir });
    cleanups.push(() => void legacy.stop());
    const server = await startServer({ DATA_DIR: dir, UPSTREAM_URL: legacy.url });
    const stream = await fetch(`${server.url}/events`);
    const socket = new WebSocket(`${server.url.replace('http', 'ws')}/ws`);
    await once(socket, 'message'); // the legacy backend's greeting: the socket is through
    cleanups.push(() => socket.terminate());

    const started = Date.now();
    server.child.kill('SIGTERM');
    expect(await server.exited).toBe(0);
    expect(Date.now() - started).toBeLessThan(3_000);
    void stream.body?.cancel().catch(() => {});
  });
});

