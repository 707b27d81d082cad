import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdir, readdir, readFile, utimes, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { DataDirInUseError, LOCK_PREFIX, lockDataDir, whoHolds, type LockRecord } from '../../src/store/data-dir-lock.ts';
import { LEGACY_LOCK_NAME } from '../../src/store/legacy-lock.ts';
import { identify, processStat } from '../../src/store/process-identity.ts';
import { tempDir } from '../helpers/temp-dir.ts';

const others: ChildProcess[] = [];
afterEach(async () => {
  await Promise.all(others.splice(0).map((child) => (child.kill('SIGKILL'), once(child, 'exit'))));
});

/** An unrelated process that lives until the test ends. */
async function unrelatedProcess(): Promise<number> {
  const child = spawn('sleep', ['60'], { stdio: 'ignore' });
  others.push(child);
  await once(child, 'spawn');
  return child.pid as number;
}

async function leaveRecord(dir: string, generation: number, owner: Partial<LockRecord>) {
  const self = await identify();
  const record: LockRecord = { ...self, state: 'held', at: new Date().toISOString(), ...owner };
  await writeFile(join(dir, LOCK_PREFIX + generation), JSON.stringify(record));
}

const generations = async (dir: string) => (await readdir(dir)).filter((name) => name.startsWith(LOCK_PREFIX)).sort();

describe('the data folder lock', () => {
  it('refuses a folder whose owner is alive, naming it; once released, the folder is free', async () => {
    const dir = await tempDir();
    const release = await lockDataDir(dir);
    await expect(lockDataDir(dir)).rejects.toThrow(DataDirInUseError);
    await expect(lockDataDir(dir)).rejects.toThrow(new RegExp(`in use .*pid ${process.pid}`));
    expect(await whoHolds(dir)).toMatchObject({ state: 'held', owner: { pid: process.pid } });
    await release();
    expect(await whoHolds(dir)).toMatchObject({ state: 'free', owner: { pid: process.pid, state: 'released' } });
    await (await lockDataDir(dir))();
  });

  it('takes over at once from an owner that no longer exists, by creating the next generation', async () => {
    const dir = await tempDir();
    await leaveRecord(dir, 4, { pid: 2 ** 22 + 12_345 }); // above any pid this machine hands out
    expect(await whoHolds(dir)).toMatchObject({ state: 'abandoned', generation: 4 });
    await lockDataDir(dir);
    expect(await generations(dir)).toEqual([`${LOCK_PREFIX}5`]);
    expect(await whoHolds(dir)).toMatchObject({ state: 'held', generation: 5, owner: { pid: process.pid } });
  });

  it('is not fooled by a recorded pid that now belongs to an unrelated process', async () => {
    const dir = await tempDir();
    const pid = await unrelatedProcess();
    const running = await processStat(pid);
    await leaveRecord(dir, 1, { pid, startTicks: (running?.startTicks ?? 0) - 500 }); // the owner started 5 s before it
    expect(await whoHolds(dir)).toMatchObject({ state: 'abandoned' });
    await lockDataDir(dir);
    expect(await whoHolds(dir)).toMatchObject({ state: 'held', owner: { pid: process.pid } });
  });

  it('is not fooled by its own pid: the last owner was pid 1 of the previous container, say', async () => {
    const dir = await tempDir();
    const self = await identify();
    await leaveRecord(dir, 1, { pid: self.pid, startTicks: (self.startTicks ?? 0) - 1 });
    await lockDataDir(dir);
    expect(await generations(dir)).toEqual([`${LOCK_PREFIX}2`]);
  });

  it('takes over an owner of an earlier boot', async () => {
    const dir = await tempDir();
    await leaveRecord(dir, 1, { bootId: 'another-boot' });
    await (await lockDataDir(dir))();
    expect(await generations(dir)).toEqual([`${LOCK_PREFIX}3`]);
  });

  it('refuses a record it cannot read, naming it: whether its owner runs cannot be told', async () => {
    const dir = await tempDir();
    await writeFile(join(dir, `${LOCK_PREFIX}9`), 'not a record');
    await expect(lockDataDir(dir)).rejects.toThrow(`${LOCK_PREFIX}9 that balance-sync did not write`);
    expect(await generations(dir)).toEqual([`${LOCK_PREFIX}9`]);
  });

  it('refuses the owner a live process of this boot still is', async () => {
    const dir = await tempDir();
    const pid = await unrelatedProcess();
    await leaveRecord(dir, 1, { pid, startTicks: (await processStat(pid))?.startTicks ?? null, host: 'box' });
    await expect(lockDataDir(dir)).rejects.toThrow(`pid ${pid} on box`);
    expect(await generations(dir)).toEqual([`${LOCK_PREFIX}1`]);
  });

  it('lets exactly one of many simultaneous takeovers win', async () => {
    const dir = await tempDir();
    await leaveRecord(dir, 1, { pid: 2 ** 22 + 1 });
    const results = await Promise.allSettled(Array.from({ length: 12 }, () => lockDataDir(dir)));
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
    for (const r of results) if (r.status === 'rejected') expect(r.reason).toBeInstanceOf(DataDirInUseError);
    expect(await generations(dir)).toEqual([`${LOCK_PREFIX}2`]);
  });

  describe('the lock directory of the earlier version', () => {
    async function leaveLegacy(dir: string, pid: number, writtenAgoMs = 0) {
      await mkdir(join(dir, LEGACY_LOCK_NAME));
      await writeFile(join(dir, LEGACY_LOCK_NAME, 'pid'), String(pid));
      const when = new Date(Date.now() - writtenAgoMs);
      await utimes(join(dir, LEGACY_LOCK_NAME, 'pid'), when, when);
    }

    it('is removed once its owner is gone', async () => {
      const dir = await tempDir();
      await leaveLegacy(dir, 2 ** 22 + 7);
      await lockDataDir(dir);
      expect(await readdir(dir)).not.toContain(LEGACY_LOCK_NAME);
    });

    it('refuses while its owner runs, and not for a process that got the pid after it was written', async () => {
      const dir = await tempDir();
      const pid = await unrelatedProcess();
      await leaveLegacy(dir, pid);
      await expect(lockDataDir(dir)).rejects.toThrow(`pid ${pid}, an earlier version`);
      expect(await whoHolds(dir)).toMatchObject({ state: 'free', legacy: { pid, running: true } });

      const later = await tempDir();
      await leaveLegacy(later, pid, 60_000); // written a minute before that process started
      await lockDataDir(later);
      expect(await readFile(join(later, (await generations(later))[0] as string), 'utf8')).toContain(`"pid":${process.pid}`);
    });
  });
});
