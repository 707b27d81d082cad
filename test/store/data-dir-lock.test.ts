import { mkdir, utimes, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { DataDirInUseError, LOCK_NAME, lockDataDir } from '../../src/store/data-dir-lock.ts';
import { tempDir } from '../helpers/temp-dir.ts';

const noop = () => {};

async function leaveLock(dir: string, pid: number | null, ageMs = 0) {
  const path = join(dir, LOCK_NAME);
  await mkdir(path);
  if (pid !== null) await writeFile(join(path, 'pid'), String(pid));
  const when = new Date(Date.now() - ageMs);
  await utimes(path, when, when);
}

describe('the data folder lock', () => {
  it('refuses a folder whose owner is alive, naming it', async () => {
    const dir = await tempDir();
    const release = await lockDataDir(dir, noop);
    await expect(lockDataDir(dir, noop)).rejects.toThrow(DataDirInUseError);
    await expect(lockDataDir(dir, noop)).rejects.toThrow(/in use .*pid \d+/);
    await release();
    await (await lockDataDir(dir, noop))();
  });

  it('takes over at once from an owner that no longer exists', async () => {
    const dir = await tempDir();
    await leaveLock(dir, 2 ** 22 + 12_345); // above any pid this machine hands out
    await (await lockDataDir(dir, noop))();
  });

  it('takes over an owner that died before recording itself, once that lock is old', async () => {
    const dir = await tempDir();
    await leaveLock(dir, null, 60_000);
    await (await lockDataDir(dir, noop))();
  });

  it('waits for, then refuses, a fresh lock whose owner is still starting', async () => {
    const dir = await tempDir();
    await leaveLock(dir, null);
    await expect(lockDataDir(dir, noop)).rejects.toThrow(DataDirInUseError);
  });
});
