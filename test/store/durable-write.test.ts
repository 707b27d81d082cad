import { chmod, readdir, readFile, rename, stat, unlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { stageFile } from '../../src/store/durable-write.ts';
import { renameOver } from '../../src/store/rename-exchange.ts';
import { fingerprintOf, sameFingerprint } from '../../src/store/text-file.ts';
import { tempDir } from '../helpers/temp-dir.ts';
import { waitFor } from '../helpers/wait.ts';

async function existing(mode: number) {
  const dir = await tempDir();
  const path = join(dir, 'auto_trading_state.json');
  await writeFile(path, '{"balance": 1}');
  await chmod(path, mode);
  return { dir, path, like: await fingerprintOf(path) };
}

describe('a staged atomic write', () => {
  it('shows nothing at the target until it is committed, then the whole new text', async () => {
    const { dir, path, like } = await existing(0o644);
    const staged = await stageFile(path, '{"balance": 2}', like);
    expect(await readFile(path, 'utf8')).toBe('{"balance": 1}');
    expect((await readdir(dir)).length).toBe(2); // the temp file, beside the target
    await staged.commit();
    expect(await readFile(path, 'utf8')).toBe('{"balance": 2}');
    expect(await readdir(dir)).toEqual(['auto_trading_state.json']);
  });

  it('keeps the mode of the file it replaces, whatever the umask would give', async () => {
    const { path, like } = await existing(0o666);
    await (await stageFile(path, '{}', like)).commit();
    expect((await stat(path)).mode & 0o777).toBe(0o666);
  });

  it('knows the fingerprint of the version it puts in place before it does', async () => {
    const { path, like } = await existing(0o600);
    const staged = await stageFile(path, '{"balance": 3}', like);
    await staged.commit();
    expect(sameFingerprint(staged.fingerprint, await fingerprintOf(path))).toBe(true);
  });

  it('leaves no temp file when discarded, and the target untouched', async () => {
    const { dir, path, like } = await existing(0o644);
    const staged = await stageFile(path, '{"balance": 4}', like);
    await staged.discard();
    await staged.discard();
    expect(await readdir(dir)).toEqual(['auto_trading_state.json']);
    expect(await readFile(path, 'utf8')).toBe('{"balance": 1}');
  });

  it('with its fsync left for later, is never renamed before it is durable, and knows its fingerprint all the same', async () => {
    const { path, like } = await existing(0o644);
    const staged = await stageFile(path, '{"balance": 6}', like, { deferFsync: true });
    // The synchronous rename has no fsync of its own: asked before one, it refuses and renames nothing.
    expect(() => staged.commitIf(like!.ino)).toThrow(/before fsync/);
    expect(await readFile(path, 'utf8')).toBe('{"balance": 1}');
    await staged.fsync();
    expect(staged.commitIf(like!.ino)).toEqual({ displaced: null });
    expect(await readFile(path, 'utf8')).toBe('{"balance": 6}');
    expect(sameFingerprint(staged.fingerprint, await fingerprintOf(path))).toBe(true);
  });

  it('with its fsync left for later, commit() makes it durable before the rename', async () => {
    const { path, like } = await existing(0o644);
    const staged = await stageFile(path, '{"balance": 7}', like, { deferFsync: true });
    await staged.commit();
    expect(await readFile(path, 'utf8')).toBe('{"balance": 7}');
  });

  it('renames only over the version it was told is in place, and leaves nothing of the one it replaced behind', async () => {
    const { dir, path, like } = await existing(0o644);
    const staged = await stageFile(path, '{"balance": 8}', like);
    // Another process renamed a new version into place since that version was looked at.
    await writeFile(join(dir, 'theirs.tmp'), '{"balance": 9}');
    await rename(join(dir, 'theirs.tmp'), path);
    expect(staged.commitIf(like!.ino)).toBe(false);
    expect(await readFile(path, 'utf8')).toBe('{"balance": 9}');
    expect(staged.commitIf((await fingerprintOf(path))!.ino)).toEqual({ displaced: null });
    expect(await readFile(path, 'utf8')).toBe('{"balance": 8}');
    // (The version it replaced is removed in the thread pool: nothing waits for it.)
    await waitFor(async () => (await readdir(dir)).length === 1, 1_000, 'the replaced version removed');
    expect(await readdir(dir)).toEqual(['auto_trading_state.json']);
  });

  it('does not put a new file where another process created one since it looked and found none', async () => {
    const dir = await tempDir();
    const path = join(dir, 'virtual_balance.json');
    const staged = await stageFile(path, '{"balance": 10}', null);
    await writeFile(path, '{"balance": 11}');
    expect(staged.commitIf(null)).toBe(false);
    expect(await readFile(path, 'utf8')).toBe('{"balance": 11}');
    await staged.discard();
  });

  it('creates a file that did not exist', async () => {
    const dir = await tempDir();
    const path = join(dir, 'virtual_balance.json');
    await (await stageFile(path, '{"balance": 5}', null)).commit();
    expect(await readFile(path, 'utf8')).toBe('{"balance": 5}');
  });
});

describe('renaming over a file by an atomic exchange', () => {
  it('puts the new version in place and the one it replaced under the new one\'s old name, both whole', async () => {
    const dir = await tempDir();
    const [target, temp] = [join(dir, 'auto_trading_state.json'), join(dir, 'auto_trading_state.json.123')];
    await writeFile(target, 'theirs');
    await writeFile(temp, 'ours');
    expect(renameOver(temp, target, { expectEmpty: false })).toBe('exchanged');
    expect(await readFile(target, 'utf8')).toBe('ours');
    expect(await readFile(temp, 'utf8')).toBe('theirs');
  });

  it('with nothing expected in place, refuses to replace a file that appeared, and renames when none did', async () => {
    const dir = await tempDir();
    const [target, temp] = [join(dir, 'virtual_balance.json'), join(dir, 'virtual_balance.json.123')];
    await writeFile(temp, 'ours');
    await writeFile(target, 'appeared');
    expect(renameOver(temp, target, { expectEmpty: true })).toBe('occupied');
    expect(await readFile(target, 'utf8')).toBe('appeared');
    await unlink(target);
    expect(renameOver(temp, target, { expectEmpty: true })).toBe('renamed');
    expect(await readFile(target, 'utf8')).toBe('ours');
  });

  it('falls back to a rename of its own when the file in place was deleted since', async () => {
    const dir = await tempDir();
    const [target, temp] = [join(dir, 'virtual_balance.json'), join(dir, 'virtual_balance.json.123')];
    await writeFile(temp, 'ours');
    expect(renameOver(temp, target, { expectEmpty: false })).toBe('renamed');
    expect(await readdir(dir)).toEqual(['virtual_balance.json']);
  });
});
