import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { json, post, startServer } from '../helpers/server-process.ts';
import { ATS, VB } from '../helpers/service.ts';
import { tempDir } from '../helpers/temp-dir.ts';


interface Acked {
  balance: number;
  revision: number;
}

/** Both files parse, agree with each other and with what the server serves. */
async function expectConsistent(dir: string, url: string): Promise<{ balance: number; revision: number }> {
  const vb = JSON.parse(await readFile(join(dir, VB), 'utf8'));
  const ats = JSON.parse(await readFile(join(dir, ATS), 'utf8'));
  const { body } = await json(`${url}/virtual_balance`);
  expect(vb.balance).toBe(ats.balance);
  expect(body.balance).toBe(vb.balance);
  return body;
}

/** Posts distinct balances one after another until the server dies; returns what was acknowledged and what was in flight. */
async function postUntilDead(url: string, base: number): Promise<{ acked: Acked | null; inFlight: number | null }> {
  let acked: Acked | null = null;
  for (let i = 1; ; i++) {
    const balance = base + i;
    try {
      const res = await post(`${url}/virtual_balance`, { balance });
      if (res.status !== 200) throw new Error(`unexpected ${res.status}`);
      acked = { balance, revision: res.body.revision };
    } catch {
      return { acked, inFlight: balance };
    }
  }
}

describe('kill -9', () => {
  it('at random moments: after a restart the balance is the last acknowledged or the one in flight, never older', async () => {
    const dir = await tempDir();
    let lastRevision = 0;
    for (let round = 0; round < 12; round++) {
      let server = await startServer({ DATA_DIR: dir });
      const current = await expectConsistent(dir, server.url);
      expect(current.revision).toBeGreaterThanOrEqual(lastRevision);

      const victim = server;
      setTimeout(() => victim.child.kill('SIGKILL'), 20 + Math.random() * 80);
      const { acked, inFlight } = await postUntilDead(server.url, round * 10_000);
      await server.exited;

      server = await startServer({ DATA_DIR: dir });
      const after = await expectConsistent(dir, server.url);
      const allowed = [acked?.balance ?? current.balance, inFlight];
      expect(allowed).toContain(after.balance);
      expect(after.revision).toBeGreaterThanOrEqual(acked?.revision ?? current.revision);
      lastRevision = after.revision;
      await server.kill();
    }
    const leftovers = (await readdir(dir)).filter((name) => /\.json\.\d+$/.test(name));
    expect(leftovers).toEqual([]);
  });

  it.each(['journal', VB, ATS])('right after the write path reaches %s: the attempted write survives, never a mix', async (step) => {
    const dir = await tempDir();
    let server = await startServer({ DATA_DIR: dir, BALANCE_SYNC_CRASH_AFTER: step, BALANCE_SYNC_CRASH_AFTER_COUNT: '3' });
    const { acked, inFlight } = await postUntilDead(server.url, 500);
    expect(await server.exited).toBeNull(); // killed by a signal
    expect(acked).not.toBeNull();

    server = await startServer({ DATA_DIR: dir });
    const after = await expectConsistent(dir, server.url);
    expect(after.balance).toBe(inFlight);
    expect(after.revision).toBe((acked as Acked).revision + 1);
  });
});

describe('leftovers of interrupted writes', () => {
  it('removes the temp files an interrupted write leaves behind, and only those', async () => {
    const dir = await tempDir();
    const { writeFile } = await import('node:fs/promises');
    await writeFile(join(dir, `${VB}.3735928559`), '{"balance": 1');
    await writeFile(join(dir, `${ATS}.12345`), '{');
    await writeFile(join(dir, 'notes.txt'), 'keep me');
    const server = await startServer({ DATA_DIR: dir });
    const names = await readdir(dir);
    expect(names.filter((n) => /\.json\.\d+$/.test(n))).toEqual([]);
    expect(names).toContain('notes.txt');
  });
});
