// The systemd unit in docs/systemd: systemd itself verifies it where installed, and the paths and
// settings it names agree with the package and with the settings file beside it.

import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { chmod, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.ts';
import { tempDir } from '../helpers/temp-dir.ts';

const UNIT = 'docs/systemd/balance-sync.service';
const ENV_FILE = 'docs/systemd/balance-sync.env';
const ANALYZE = '/usr/bin/systemd-analyze';
/** The service exits within this long after SIGTERM (SPEC, Operations). */
const SHUTDOWN_S = 5;

const settingsOf = (text: string) => new Map(text.split('\n').filter((line) => /^\w+=/.test(line)).map((line) => [line.slice(0, line.indexOf('=')), line.slice(line.indexOf('=') + 1)] as const));

/** `systemd-analyze verify` on the unit, its ExecStart pointed at an executable that exists here. */
async function verify(unitText: string): Promise<{ code: number; output: string }> {
  const dir = await tempDir();
  const command = join(dir, 'balance-sync');
  await writeFile(command, '#!/bin/sh\nexit 0\n');
  await chmod(command, 0o755);
  await writeFile(join(dir, 'balance-sync.service'), unitText.replace(/^ExecStart=\S+/m, `ExecStart=${command}`));
  return promisify(execFile)(ANALYZE, ['verify', join(dir, 'balance-sync.service')]).then(
    ({ stdout, stderr }) => ({ code: 0, output: stdout + stderr }),
    (error: { code: number; stdout: string; stderr: string }) => ({ code: error.code, output: error.stdout + error.stderr }),
  );
}

describe('the systemd unit', () => {
  it.skipIf(!existsSync(ANALYZE))('passes systemd-analyze verify, which does catch a broken unit', async () => {
    const unit = await readFile(UNIT, 'utf8');
    // Not a word of warning either: systemd ignores what it cannot parse, and says so.
    expect(await verify(unit)).toEqual({ code: 0, output: '' });
    expect((await verify(unit.replace('Restart=on-failure', 'Restart=sometimes'))).output).toMatch(/restart/i);
  });

  it('restarts on failure, stops with SIGTERM and waits longer than the service takes to stop, and keeps writes to the data folder', async () => {
    const unit = settingsOf(await readFile(UNIT, 'utf8'));
    expect(unit.get('Restart')).toBe('on-failure');
    expect(unit.get('KillSignal')).toBe('SIGTERM');
    expect(Number(unit.get('TimeoutStopSec'))).toBeGreaterThan(SHUTDOWN_S);
    expect(Number(unit.get('TimeoutStopSec'))).toBeLessThanOrEqual(SHUTDOWN_S + 5);
    expect(unit.get('ProtectSystem')).toBe('strict');
    expect(unit.get('NoNewPrivileges')).toBe('yes');
  });

  it('names the installed command, the settings file beside it, and the data folder that file sets', async () => {
    const unit = settingsOf(await readFile(UNIT, 'utf8'));
    const { bin } = JSON.parse(await readFile('package.json', 'utf8')) as { bin: Record<string, string> };
    expect(unit.get('ExecStart')).toMatch(new RegExp(`^/usr/local/bin/${Object.keys(bin)[0]} serve$`));
    const envText = await readFile(ENV_FILE, 'utf8');
    expect(envText).toContain(unit.get('EnvironmentFile'));
    const env = Object.fromEntries(settingsOf(envText));
    expect(unit.get('ReadWritePaths')).toBe(env.DATA_DIR);
    // Every setting in it is one the service accepts.
    expect(loadConfig(env)).toMatchObject({ ok: true });
  });
});
