// The package as users install it: `npm pack`, installed into a folder with no repository around it,
// and its `balance-sync` command started on a scratch data folder.

import { execFile, spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { promisify } from 'node:util';
import { afterEach, describe, expect, it } from 'vitest';
import { json, post } from '../helpers/server-process.ts';
import { tempDir } from '../helpers/temp-dir.ts';

const run = promisify(execFile);
const ROOT = resolve(import.meta.dirname, '..', '..');
const NPM = process.platform === 'win32' ? 'npm.cmd' : 'npm';
const stops: (() => void)[] = [];
afterEach(() => {
  for (const stop of stops.splice(0)) stop();
});

/**
 * Packs the repository and installs the tarball into a fresh folder; returns the command's path. Packed
 * without running prepack: its build would rewrite dist/ in place, file by file, under the servers that
 * other test files start from it at the same moment (one met a half-written module). dist/ is what
 * prepack builds — the global setup ran the same tsc on the same sources — and the test below checks
 * that prepack is the build.
 */
async function installPackage(): Promise<{ bin: string; files: string[] }> {
  const work = await tempDir();
  const { stdout } = await run(NPM, ['pack', '--json', '--ignore-scripts', '--pack-destination', work], { cwd: ROOT, maxBuffer: 1 << 24 });
  const [packed] = JSON.parse(stdout) as { filename: string; files: { path: string }[] }[];
  if (!packed) throw new Error('npm pack printed nothing');
  const app = join(work, 'app');
  await mkdir(app);
  await writeFile(join(app, 'package.json'), '{"name": "legacy-app", "private": true}');
  await run(NPM, ['install', '--prefer-offline', '--no-audit', '--no-fund', join(work, packed.filename)], { cwd: app });
  return { bin: join(app, 'node_modules', 'balance-sync', 'dist', 'src', 'server.js'), files: packed.files.map((f) => f.path) };
}

describe('the package', () => {
  it('holds what it runs on and nothing else, installs alone, and its command serves', async () => {
    const { bin, files } = await installPackage();
    expect(files).toEqual(expect.arrayContaining(['README.md', 'LICENSE', 'package.json', 'dist/src/server.js', 'src/operator-page/index.html', 'src/store/postgres/migrations/001_initial.sql']));
    expect(files.filter((path) => /^(test|bench|src\/(?!operator-page\/|store\/postgres\/migrations\/))|\.ts$|\.map$/.test(path))).toEqual([]);

    const dataDir = join(await tempDir(), 'backend');
    // As `npx balance-sync --port 0 --data-dir …` runs it: the installed bin, by the Node that runs the tests.
    const child = spawn(process.execPath, [bin, '--port', '0', '--data-dir', dataDir], { cwd: dataDir.replace(/backend$/, ''), stdio: ['ignore', 'pipe', 'pipe'] });
    stops.push(() => child.kill('SIGKILL'));
    const port = await new Promise<number>((ready, fail) => {
      createInterface({ input: child.stdout }).on('line', (line) => {
        const entry = JSON.parse(line) as { msg?: string; port?: number };
        if (entry.msg?.includes('listening') && entry.port) ready(entry.port);
      });
      void once(child, 'exit').then(([code]) => fail(new Error(`exited with ${code}`)));
    });
    const url = `http://127.0.0.1:${port}`;
    expect((await json(`${url}/virtual_balance`)).body).toMatchObject({ status: 'success', balance: 10000 });
    expect((await post(`${url}/virtual_balance`, { delta: '-25.5' })).body).toMatchObject({ balance: 9974.5, revision: 2 });
    const page = await fetch(`${url}/balance-sync/`);
    expect(page.status).toBe(200);
    expect(await page.text()).toContain('<script type="module" src="/balance-sync/operator.js">');
    expect((await fetch(`${url}/balance-sync/vendor/uPlot.esm.js`)).status).toBe(200);
  }, 120_000);

  it('is built on prepack, with the build npm start runs, and never at run time', async () => {
    const { scripts, bin } = JSON.parse(await readFile(join(ROOT, 'package.json'), 'utf8')) as { scripts: Record<string, string>; bin: Record<string, string> };
    expect(scripts.prepack).toBe('npm run build');
    expect(scripts.prestart).toBe('npm run build');
    expect(Object.values(bin)).toEqual([scripts.start?.replace(/^node /, '')]);
  });
});
