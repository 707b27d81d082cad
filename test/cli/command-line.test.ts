// The `balance-sync` command line, as a user types it: the built command, its output and exit codes.

import { execFile } from 'node:child_process';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { parseCommandLine } from '../../src/cli/arguments.ts';
import { SETTINGS } from '../../src/cli/settings.ts';
import { json, startServer } from '../helpers/server-process.ts';
import { tempDir } from '../helpers/temp-dir.ts';

const SERVER = 'dist/src/server.js';

/** Runs the command to its end: its exit code, and what it printed. */
async function command(args: string[], env: Record<string, string> = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  return promisify(execFile)(process.execPath, [SERVER, ...args], { env: { PATH: process.env.PATH ?? '', ...env } }).then(
    ({ stdout, stderr }) => ({ code: 0, stdout, stderr }),
    (error: { code: number; stdout: string; stderr: string }) => ({ code: error.code, stdout: error.stdout, stderr: error.stderr }),
  );
}

describe('balance-sync --help and --version', () => {
  it('lists every setting with its flag, its variable and its default', async () => {
    const { code, stdout } = await command(['--help']);
    expect(code).toBe(0);
    for (const { flag, env } of SETTINGS) expect(stdout).toMatch(new RegExp(`--${flag} <[^>]+>[\\s\\S]*?\\(${env}; default: `));
    expect(stdout).toContain('(PORT; default: 8001)');
    expect(stdout).toContain('(DATA_DIR; default: ./data)');
    expect(stdout).toContain('(INITIAL_BALANCE; default: 10000)');
    expect(stdout).toContain('(UPSTREAM_URL; default: unset)');
  });

  it('prints the package version', async () => {
    const { version } = JSON.parse(await readFile('package.json', 'utf8')) as { version: string };
    expect(await command(['--version'])).toMatchObject({ code: 0, stdout: `${version}\n` });
  });
});

describe('a bad command line', () => {
  it.each([
    [['--prot', '8001'], /--prot/],
    [['--port'], /--port/],
    [['--port', 'abc'], /^balance-sync: invalid --port: must be a whole number from 0 to 65535$/],
    [['--upstream', 'ftp://x'], /^balance-sync: invalid --upstream: must be an http/],
    [['--balance-file', '../x.json'], /^balance-sync: invalid --balance-file: /],
    [['serve', 'now'], /unexpected argument 'now'/],
    [['start'], /unknown command 'start'/],
  ])('%j exits 2 with one line naming it', async (args, message) => {
    const { code, stdout, stderr } = await command(args);
    expect(code).toBe(2);
    expect(stdout).toBe('');
    expect(stderr.trim().split('\n')).toHaveLength(1);
    expect(stderr.trim()).toMatch(message);
  });

  it('a bad environment variable still exits 1, naming the variable', async () => {
    const { code, stderr } = await command([], { PORT: 'abc' });
    expect(code).toBe(1);
    expect(stderr.trim()).toBe('invalid configuration: PORT must be a whole number from 0 to 65535');
  });
});

describe('flags', () => {
  it('win over the environment variable they stand for', () => {
    const parsed = parseCommandLine(['--data-dir', '/srv/backend', '--port', '8009'], { DATA_DIR: '/tmp/other', PORT: '1', HOST: '0.0.0.0' });
    expect(parsed).toMatchObject({ command: 'serve', env: { DATA_DIR: '/srv/backend', PORT: '8009', HOST: '0.0.0.0' } });
  });

  it('run the service: a flag-configured server serves its data folder, not the one in the environment', async () => {
    const [flagged, ignored] = [await tempDir(), await tempDir()];
    const server = await startServer({ DATA_DIR: ignored }, { args: ['serve', '--data-dir', flagged, '--initial-balance', '250.5'] });
    expect((await json(`${server.url}/virtual_balance`)).body.balance).toBe(250.5);
    expect(JSON.parse(await readFile(join(flagged, 'virtual_balance.json'), 'utf8'))).toMatchObject({ balance: 250.5 });
    expect(await readdir(ignored)).toEqual([]);
  });
});
