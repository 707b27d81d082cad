// Names in the data folder that are not files at all — a FIFO, a symlink to one — put there by
// careless hands: the service neither hangs on them nor reads them for ever, keeps them aside and
// writes the file again.

import { execFileSync } from 'node:child_process';
import { readdir, rename, rm, stat, symlink } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { json, post, startServer } from '../helpers/server-process.ts';
import { ATS, VB } from '../helpers/service.ts';
import { readJson, tempDir, writeJson } from '../helpers/temp-dir.ts';
import { waitFor } from '../helpers/wait.ts';

describe('a data file replaced by something that is not a file', () => {
  it.each([VB, ATS])('%s as a FIFO: the FIFO is kept aside, the file written again, and changes are answered', async (name) => {
    const dir = await tempDir();
    const server = await startServer({ DATA_DIR: dir });
    await post(`${server.url}/virtual_balance`, { balance: 4321 });
    // Made beside it and renamed into its place: removed first, the file could be re-created in between.
    execFileSync('mkfifo', [join(dir, `${name}.fifo`)]);
    await rename(join(dir, `${name}.fifo`), join(dir, name));

    // (Reading a FIFO would block this test: it looks whether there is a file first.)
    const isFile = async () => (await stat(join(dir, name)).catch(() => null))?.isFile() ?? false;
    await waitFor(async () => (await isFile()) && (await readJson(join(dir, name))).balance === 4321, 3_000, 'the file written again');
    const answer = await post(`${server.url}/virtual_balance`, { delta: 1 });
    expect(answer.status).toBe(200);
    expect((await json(`${server.url}/health`)).body).toMatchObject({ status: 'ok', files_agree: true });
    expect((await readdir(dir)).some((entry) => entry.startsWith(`${name}.corrupt-`))).toBe(true);
    // And it still stops when asked.
    expect(await server.kill('SIGTERM')).toBe(0);
  });

  // (A FIFO of the test's own, not /dev/zero: if this guard ever broke, the write-through would replace
  // whatever the link points to — not a thing to risk on a machine's devices.)
  it('a symlink to a FIFO outside the data folder is neither read nor written through: the file is named as failing', async () => {
    const [dir, elsewhere] = [await tempDir(), await tempDir()];
    await writeJson(join(dir, ATS), { balance: 50, enabled: true });
    const server = await startServer({ DATA_DIR: dir });
    const fifo = join(elsewhere, 'not-a-file');
    execFileSync('mkfifo', [fifo]);
    await rm(join(dir, VB));
    await symlink(fifo, join(dir, VB));
    await waitFor(async () => (await json(`${server.url}/health`)).body.failing?.file === VB, 3_000, 'the file named as failing');
    expect((await json(`${server.url}/health`)).status).toBe(503);
    expect((await stat(fifo)).isFIFO()).toBe(true);
    expect(await readdir(elsewhere)).toEqual(['not-a-file']);
    expect(await server.kill('SIGTERM')).toBe(0);
  });
});
