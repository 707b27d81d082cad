// `balance-sync doctor` on a data folder, as an operator runs it: what it says start-up would decide,
// its exit code, a folder left byte for byte as it was — and the real start-up agreeing with it.

import { createHash } from 'node:crypto';
import { execFile } from 'node:child_process';
import { readdir, readFile, stat, utimes, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { json, post, startExpectingFailure, startServer } from '../helpers/server-process.ts';
import { ATS, VB } from '../helpers/service.ts';
import { tempDir, writeJson } from '../helpers/temp-dir.ts';

async function doctor(dir: string, extra: string[] = []): Promise<{ code: number; out: string }> {
  return promisify(execFile)(process.execPath, ['dist/src/server.js', 'doctor', '--data-dir', dir, ...extra], { env: { PATH: process.env.PATH ?? '' } }).then(
    ({ stdout }) => ({ code: 0, out: stdout }),
    (error: { code: number; stdout: string }) => ({ code: error.code, out: error.stdout }),
  );
}

/** Every name in the folder with its bytes and times: what "unchanged" means. */
async function fingerprint(dir: string): Promise<string[]> {
  const names = (await readdir(dir)).sort();
  return Promise.all(
    names.map(async (name) => {
      const info = await stat(join(dir, name));
      const bytes = info.isFile() ? createHash('sha256').update(await readFile(join(dir, name))).digest('hex') : 'not a file';
      return `${name} ${info.size} ${info.mtimeMs} ${info.mode} ${bytes}`;
    }),
  );
}

const day = (iso: string) => new Date(iso);

describe('balance-sync doctor, for each way start-up refuses', () => {
  it.each([
    ['a corrupt trading state, the balance file missing', { [ATS]: '{"enabled": true, "balance": 99' }],
    ['both files corrupt', { [VB]: 'garbage', [ATS]: '[1, 2' }],
    ['an unreadable balance, nothing else', { [VB]: '{"balance": "12,000.50"}' }],
    ['an unreadable balance beside a file without one', { [VB]: '["12000"]', [ATS]: '{"enabled": true}' }],
    ['a trading state that is not an object, the balance file missing', { [ATS]: '"12000"' }],
  ])('%s: says start-up would refuse, names the file and how to recover, exits 1 — and start-up does refuse', async (_what, files) => {
    const dir = await tempDir();
    for (const [name, text] of Object.entries(files)) await writeFile(join(dir, name), text);
    const before = await fingerprint(dir);
    const { code, out } = await doctor(dir);
    expect(code).toBe(1);
    expect(out).toMatch(/Start-up would refuse \(exit 1\): .*cannot be read/);
    expect(out).toContain('To recover: repair the file so it holds {"balance": <amount>}');
    expect(await fingerprint(dir)).toEqual(before);
    expect((await startExpectingFailure({ DATA_DIR: dir })).code).toBe(1);
  });
});

describe('balance-sync doctor, when start-up would succeed', () => {
  it('the seed case: explains the newer file wins, lists both files, exits 0 — and start-up serves what it said', async () => {
    const dir = await tempDir();
    await writeJson(join(dir, VB), { balance: 12346.0, last_updated: '2025-06-23T08:03:49.376726' });
    await writeFile(join(dir, ATS), '{"enabled": false, "balance": 9989.760000000001}');
    await utimes(join(dir, VB), day('2025-06-23T08:03:49Z'), day('2025-06-23T08:03:49Z'));
    await utimes(join(dir, ATS), day('2025-06-24T10:00:00Z'), day('2025-06-24T10:00:00Z'));
    const before = await fingerprint(dir);
    const { code, out } = await doctor(dir);
    expect(code).toBe(0);
    expect(out).toMatch(/virtual_balance\.json\s+12346, modified 2025-06-23T08:03:49/);
    expect(out).toMatch(/auto_trading_state\.json\s+9989\.76, modified 2025-06-24T10:00:00/);
    expect(out).toContain('Start-up would serve 9989.76 at revision 1: auto_trading_state.json (9989.76) over virtual_balance.json (12346): it is newer.');
    expect(out).toContain('Verdict: start-up would succeed.');
    expect(await fingerprint(dir)).toEqual(before);
    const server = await startServer({ DATA_DIR: dir });
    expect((await json(`${server.url}/virtual_balance`)).body).toMatchObject({ balance: 9989.76, revision: 1 });
  });

  it('a corrupt file beside a journal: the journal holds the balance, the corrupt file will be copied aside first', async () => {
    const dir = await tempDir();
    const server = await startServer({ DATA_DIR: dir });
    await post(`${server.url}/virtual_balance`, { balance: 777.5 });
    await server.kill('SIGTERM');
    await writeFile(join(dir, VB), 'not json');
    await writeFile(join(dir, ATS), '{"enabled": true');
    const { code, out } = await doctor(dir);
    expect(code).toBe(0);
    expect(out).toMatch(/Journal: balance_journal\.jsonl, .*last entry: revision 2, 777\.5 at/);
    expect(out).toContain('Start-up would serve 777.5 at revision 2: journal is the only source with a valid balance.');
    expect(out).toContain(`It would keep ${VB}'s bytes as ${VB}.corrupt-<UTC time> first`);
    const again = await startServer({ DATA_DIR: dir });
    expect((await json(`${again.url}/virtual_balance`)).body).toMatchObject({ balance: 777.5, revision: 2 });
  });

  it('a file time in the future is named, and ranks below the real edit', async () => {
    const dir = await tempDir();
    await writeJson(join(dir, VB), { balance: 5000 });
    await writeJson(join(dir, ATS), { balance: 5100, enabled: true });
    await utimes(join(dir, VB), new Date(Date.now() + 3_600_000), new Date(Date.now() + 3_600_000));
    const { code, out } = await doctor(dir);
    expect(code).toBe(0);
    expect(out).toMatch(/virtual_balance\.json has a time in the future/);
    expect(out).toContain('Start-up would serve 5100');
  });
});

describe('balance-sync doctor on the folder around the files', () => {
  it('says who holds the folder while a balance-sync runs on it, and exits 1 (a start would refuse)', async () => {
    const dir = await tempDir();
    const server = await startServer({ DATA_DIR: dir });
    const { code, out } = await doctor(dir);
    expect(code).toBe(1);
    expect(out).toMatch(new RegExp(`Lock: held by pid ${server.child.pid} on .+, which is running`));
  });

  it('says a lock was left by a process that is gone, and that start-up takes it over', async () => {
    const dir = await tempDir();
    const server = await startServer({ DATA_DIR: dir });
    await server.kill('SIGKILL');
    const { code, out } = await doctor(dir);
    expect(code).toBe(0);
    expect(out).toMatch(/Lock: left by pid \d+ on .+, which is no longer running .*start-up takes it over/);
  });

  it('lists temp files of interrupted writes and .corrupt- copies, and the journal size and segments', async () => {
    const dir = await tempDir();
    await writeJson(join(dir, VB), { balance: 1 });
    await writeFile(join(dir, `${VB}.2718281828`), '{"bala');
    await writeFile(join(dir, `${ATS}.corrupt-20261101T000000.000Z`), 'old garbage');
    await writeFile(join(dir, 'balance_journal.jsonl.1'), '');
    const { out } = await doctor(dir);
    expect(out).toContain(`${VB}.2718281828: a temp file of a write that was interrupted (start-up removes it)`);
    expect(out).toContain(`${ATS}.corrupt-20261101T000000.000Z: the bytes of a corrupt or unreadable file, kept`);
    expect(out).toMatch(/1 rotated segment \(0 B\)/);
  });

  it('says whether the legacy backend answers (--upstream)', async () => {
    const dir = await tempDir();
    const { out } = await doctor(dir, ['--upstream', 'http://127.0.0.1:9']);
    expect(out).toMatch(/Legacy backend \(http:\/\/127\.0\.0\.1:9\): does not answer \(ECONNREFUSED\)/);
  });

  it('exits 2 on a bad flag, like serve', async () => {
    expect((await doctor(await tempDir(), ['--bogus'])).code).toBe(2);
  });
});
