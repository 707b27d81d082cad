import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { readdir, readFile, unlink, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { afterEach, describe, expect, it } from 'vitest';
import { json, launchServer, post, startServer } from '../helpers/server-process.ts';
import { tempDir } from '../helpers/temp-dir.ts';

const LOCK_MODULE = resolve('dist/src/store/data-dir-lock.js');
const CONTENDER = resolve('test/helpers/lock-contender.mjs');
const GATE = resolve('test/helpers/start-gate.mjs');

const contenders = new Set<ChildProcess>();
afterEach(async () => {
  await Promise.all([...contenders].map(kill9));
  contenders.clear();
});

/** A contender, spawned and waiting for the word; `outcome` is the first line it says after it. */
async function contender(dir: string) {
  const child = spawn(process.execPath, [CONTENDER, dir, LOCK_MODULE], { stdio: ['pipe', 'pipe', 'inherit'] });
  contenders.add(child);
  const lines = createInterface({ input: child.stdout! })[Symbol.asyncIterator]();
  expect((await lines.next()).value).toBe('ready');
  return { child, go: () => child.stdin!.write('go\n'), outcome: async () => (await lines.next()).value as string };
}

async function kill9(child: ChildProcess) {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = once(child, 'exit');
  child.kill('SIGKILL');
  await exited;
}

describe('two starters released at the same instant over a lock left by kill -9', () => {
  it('exactly one takes the lock, in each of 50 rounds', async () => {
    const dir = await tempDir();
    const first = await contender(dir);
    first.go();
    expect(await first.outcome()).toBe('won');
    await kill9(first.child);

    for (let round = 1; round <= 50; round++) {
      const pair = await Promise.all([contender(dir), contender(dir)]);
      for (const one of pair) one.go();
      const outcomes = await Promise.all(pair.map((one) => one.outcome()));
      expect(outcomes.sort(), `round ${round}`).toEqual(['in use', 'won']);
      // The winner, killed in turn, leaves the next round's stale lock.
      await Promise.all(pair.map((one) => kill9(one.child)));
    }
  });

  it('the real server: exactly one serves, the other exits 1 saying the folder is in use', async () => {
    const dir = await tempDir();
    const killed = await startServer({ DATA_DIR: dir });
    expect((await post(`${killed.url}/virtual_balance`, { balance: 1234 })).status).toBe(200);
    await killed.kill('SIGKILL');

    for (let round = 1; round <= 4; round++) {
      const pair = [launchServer({ DATA_DIR: dir }, { nodeArgs: ['--import', GATE], stdin: true }), launchServer({ DATA_DIR: dir }, { nodeArgs: ['--import', GATE], stdin: true })];
      for (const server of pair) server.child.stdin!.write('go\n');
      const settled = await Promise.allSettled(pair.map((server) => server.listening));
      const winners = settled.flatMap((s) => (s.status === 'fulfilled' ? [s.value] : []));
      expect(winners, `round ${round}`).toHaveLength(1);
      const loser = pair.find((server) => !winners.some((w) => w.child === server.child))!;
      expect(await loser.exited).toBe(1);
      expect(loser.stderr()).toMatch(/in use by another balance-sync process \(pid \d+/);
      expect((await json(`${winners[0]!.url}/virtual_balance`)).body.balance).toBe(1234);
      await winners[0]!.kill('SIGKILL');
    }
  });
});

const canUnshare = (() => {
  try {
    execFileSync('unshare', ['--pid', '--fork', '--mount-proc', 'true'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
})();

/** The service under `unshare --fork`: the one child of the unshare process. */
const serviceOf = async (unshare: ChildProcess) => Number((await readFile(`/proc/${unshare.pid}/task/${unshare.pid}/children`, 'utf8')).trim());
/** Its pid as seen inside its own namespace (the last of NSpid). */
const pidInside = async (unshare: ChildProcess) => Number((await readFile(`/proc/${await serviceOf(unshare)}/status`, 'utf8')).match(/^NSpid:.*\s(\d+)$/m)?.[1]);

describe('a restart after kill -9', () => {
  it.skipIf(!canUnshare)('in a pid namespace, as in a container (the service is pid 1 each time): it starts', async () => {
    const dir = await tempDir();
    const inContainer = { wrap: ['unshare', '--pid', '--fork', '--mount-proc', '--kill-child'] };
    let server = await startServer({ DATA_DIR: dir }, inContainer);
    expect(await pidInside(server.child)).toBe(1);
    expect((await post(`${server.url}/virtual_balance`, { balance: 4321 })).status).toBe(200);
    // kill -9 of the service itself, pid 1 inside: its namespace goes with it.
    process.kill(await serviceOf(server.child), 'SIGKILL');
    await server.exited;

    server = await startServer({ DATA_DIR: dir }, inContainer);
    expect(await pidInside(server.child)).toBe(1);
    expect((await json(`${server.url}/virtual_balance`)).body.balance).toBe(4321);
  });

  it('when the recorded pid now belongs to an unrelated process: it starts', async () => {
    const dir = await tempDir();
    const first = await startServer({ DATA_DIR: dir });
    await first.kill('SIGKILL');
    const lockPath = join(dir, (await readdir(dir)).find((n) => /^\.balance-sync\.lock\.\d+$/.test(n))!);
    const unrelated = spawn('sleep', ['60'], { stdio: 'ignore' });
    contenders.add(unrelated);
    await once(unrelated, 'spawn');
    const record = JSON.parse(await readFile(lockPath, 'utf8'));
    await writeFile(lockPath, JSON.stringify({ ...record, pid: unrelated.pid }));

    const server = await startServer({ DATA_DIR: dir });
    expect((await json(`${server.url}/virtual_balance`)).status).toBe(200);
  });
});

describe('a lock handled carelessly', () => {
  it('a lock file edited by hand is not taken for a dead owner: the starter refuses and says which file to look at', async () => {
    const dir = await tempDir();
    const first = await startServer({ DATA_DIR: dir });
    const [lockFile] = (await readdir(dir)).filter((name) => /^\.balance-sync\.lock\.\d+$/.test(name));
    await writeFile(join(dir, lockFile as string), '{"note":"edited by hand"}\n');
    const second = launchServer({ DATA_DIR: dir });
    const code = await second.listening.then(() => 'started', (error: { code?: number }) => error.code);
    expect(code).toBe(1);
    expect(second.stderr()).toContain(`${lockFile} that balance-sync did not write`);
    // Nobody can start while the newest lock file is not one we wrote, so its holder has no reason to stop:
    // it has seen the edit (and said so) and serves on.
    await expect.poll(() => first.logs.find((line) => String(line.msg).startsWith('the lock file was edited by hand'))?.file, { timeout: 5_000 }).toBe(lockFile);
    expect((await json(`${first.url}/health`)).status).toBe(200);
  });

  it('a FIFO as the newest lock file neither hangs a starter nor is taken for a dead owner', async () => {
    const dir = await tempDir();
    execFileSync('mkfifo', [join(dir, '.balance-sync.lock.5')]);
    const starter = launchServer({ DATA_DIR: dir });
    const outcome = await Promise.race([starter.listening.then(() => 'started', () => 'refused'), new Promise((resolve) => setTimeout(() => resolve('hung'), 5_000))]);
    expect(outcome).toBe('refused');
    expect(starter.stderr()).toContain('.balance-sync.lock.5 that balance-sync did not write');
  });

  it('a holder whose lock was deleted by hand stops within a look (exit 1), naming the taker when one came first, and the taker serves on', async () => {
    const dir = await tempDir();
    const first = launchServer({ DATA_DIR: dir });
    const holder = await first.listening;
    for (const name of (await readdir(dir)).filter((n) => n.startsWith('.balance-sync.lock.'))) await unlink(join(dir, name));
    const taker = await startServer({ DATA_DIR: dir });
    expect(await holder.exited).toBe(1);
    // Which the holder saw first depends on whether the taker's start beat its next look (1 s).
    expect(first.stderr()).toMatch(/no longer this process's \((pid \d+ on .+ holds it now|its lock file was removed or changed by hand)\)/);
    await post(`${taker.url}/virtual_balance`, { delta: 1 });
    expect((await json(`${taker.url}/health`)).status).toBe(200);
    // The holder that stopped marked nothing released: a third starter still meets the taker.
    const third = launchServer({ DATA_DIR: dir });
    expect(await third.listening.then(() => 'started', (error: { code?: number }) => error.code)).toBe(1);
  });
});
