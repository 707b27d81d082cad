import { readdir, readFile, utimes, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { json, post, startExpectingFailure, startServer } from '../helpers/server-process.ts';
import { ATS, VB } from '../helpers/service.ts';
import { readJson, tempDir, writeJson } from '../helpers/temp-dir.ts';


const at = (iso: string) => new Date(iso);

describe('the built server, started as users start it', () => {
  it('reconciles the seed case (sidebar 12,346 vs panel 9,989.76) to the newer file, in both routes and both files', async () => {
    const dir = await tempDir();
    await writeJson(join(dir, VB), { balance: 12346.0, last_updated: '2025-06-23T08:03:49.376726' });
    await writeFile(join(dir, ATS), '{"enabled": false, "symbol": "BTCUSDT", "balance": 9989.760000000001, "trade_log": [{"pnl": -10.24}]}');
    await utimes(join(dir, VB), at('2025-06-23T08:03:49Z'), at('2025-06-23T08:03:49Z'));
    await utimes(join(dir, ATS), at('2025-06-24T10:00:00Z'), at('2025-06-24T10:00:00Z'));

    const server = await startServer({ DATA_DIR: dir });
    const sidebar = await json(`${server.url}/virtual_balance`);
    const panel = await json(`${server.url}/auto_trading/status`);
    expect(sidebar.body.balance).toBe(9989.76);
    expect(panel.body.data).toMatchObject({ balance: 9989.76, symbol: 'BTCUSDT', trade_log: [{ pnl: -10.24 }] });
    expect(panel.body.auto_trading.balance).toBe(9989.76);
    expect(await readJson(join(dir, VB))).toMatchObject({ balance: 9989.76 });
    expect(await readJson(join(dir, ATS))).toMatchObject({ balance: 9989.76, enabled: false });

    const warning = server.logs.find((l) => l.msg === 'the files disagreed at start-up');
    expect(warning).toMatchObject({ level: 40, winner: ATS, [VB]: { balance: '12346' }, [ATS]: { balance: '9989.76' } });
  });

  it('keeps an acknowledged balance across a restart, with its revision', async () => {
    const dir = await tempDir();
    let server = await startServer({ DATA_DIR: dir });
    const saved = await post(`${server.url}/virtual_balance`, { balance: 15000 });
    expect(saved.status).toBe(200);
    await server.kill('SIGKILL');
    server = await startServer({ DATA_DIR: dir });
    const { body } = await json(`${server.url}/virtual_balance`);
    expect(body).toMatchObject({ balance: 15000, revision: saved.body.revision });
  });

  it('starts from INITIAL_BALANCE on an empty folder, creating it', async () => {
    const dir = join(await tempDir(), 'new', 'data');
    const server = await startServer({ DATA_DIR: dir, INITIAL_BALANCE: '2500.5' });
    expect((await json(`${server.url}/virtual_balance`)).body.balance).toBe(2500.5);
    expect(await readJson(join(dir, ATS))).toMatchObject({ balance: 2500.5 });
  });

  it.each([
    ['garbage', 'not json at all'],
    ['an empty file', ''],
    ['truncated JSON', '{"balance": 12'],
    ['a JSON array', '[1, 2]'],
  ])('refuses to start when the trading state is %s and nothing else holds the balance, leaving both files alone', async (_what, content) => {
    const dir = await tempDir();
    await writeFile(join(dir, ATS), content);
    const result = await startExpectingFailure({ DATA_DIR: dir });
    expect(result.code).toBe(1);
    expect(result.stderr).toContain(ATS);
    expect(result.stderr).toMatch(/repair|move it aside/);
    expect(await readFile(join(dir, ATS), 'utf8')).toBe(content);
    expect((await readdir(dir)).filter((f) => f.includes('corrupt') || f === VB)).toEqual([]);

    const again = await startExpectingFailure({ DATA_DIR: dir });
    expect(again.code).toBe(1);
  });

  it.each([
    [VB, '{"balance": "12,000.50"}'],
    [VB, '[12000.5]'],
    [VB, '"twelve thousand"'],
    [VB, 'null'],
    [ATS, '{"enabled": true, "balance": [12000.5]}'],
  ])('refuses to start when %s holds only a balance it cannot read (%s), leaving the files alone', async (file, content) => {
    const dir = await tempDir();
    await writeFile(join(dir, file), content);
    const result = await startExpectingFailure({ DATA_DIR: dir });
    expect(result.code).toBe(1);
    expect(result.stderr).toContain(file);
    expect(await readFile(join(dir, file), 'utf8')).toBe(content);
    expect(await readdir(dir)).not.toContain(file === VB ? ATS : VB);
    expect((await readdir(dir)).filter((f) => f.includes('corrupt'))).toEqual([]);
  });

  it('keeps a copy of a file whose balance it cannot read before it writes the balance into it, and keeps its other fields', async () => {
    const dir = await tempDir();
    await writeJson(join(dir, ATS), { enabled: true, balance: 777 });
    const unreadable = '{"balance": "12,000.50", "note": "typed by hand"}';
    await writeFile(join(dir, VB), unreadable);
    const server = await startServer({ DATA_DIR: dir });
    expect((await json(`${server.url}/virtual_balance`)).body.balance).toBe(777);
    const copy = (await readdir(dir)).find((n) => n.startsWith(`${VB}.corrupt-`));
    expect(copy).toBeDefined();
    expect(await readFile(join(dir, copy as string), 'utf8')).toBe(unreadable);
    expect(await readJson(join(dir, VB))).toMatchObject({ balance: 777, note: 'typed by hand' });
    expect(server.logs.some((l) => l.level === 50 && l.file === VB)).toBe(true);
  });

  it('starts from INITIAL_BALANCE when a file simply has no balance key, keeping its fields, with no copy', async () => {
    const dir = await tempDir();
    await writeJson(join(dir, ATS), { enabled: true, symbol: 'ETHUSDT' });
    const server = await startServer({ DATA_DIR: dir, INITIAL_BALANCE: '5000' });
    expect((await json(`${server.url}/auto_trading/status`)).body.data).toMatchObject({ enabled: true, symbol: 'ETHUSDT', balance: 5000 });
    expect((await readdir(dir)).filter((f) => f.includes('corrupt'))).toEqual([]);
  });

  it('reads a file that starts with a UTF-8 byte-order mark, and keeps the mark when it writes', async () => {
    const dir = await tempDir();
    await writeFile(join(dir, ATS), '\uFEFF{\n  "enabled": true,\n  "balance": 4321\n}\n');
    const server = await startServer({ DATA_DIR: dir });
    expect((await json(`${server.url}/virtual_balance`)).body.balance).toBe(4321);
    expect((await post(`${server.url}/virtual_balance`, { balance: 1234 })).status).toBe(200);
    const text = await readFile(join(dir, ATS), 'utf8');
    expect(text.startsWith('\uFEFF{')).toBe(true);
    expect(JSON.parse(text.slice(1))).toMatchObject({ enabled: true, balance: 1234 });
  });

  it.each([
    [ATS, VB],
    [VB, ATS],
  ])('quarantines a corrupt %s beside itself and heals it from %s', async (corrupt, healthy) => {
    const dir = await tempDir();
    await writeJson(join(dir, healthy), { balance: 777 });
    await writeFile(join(dir, corrupt), '{"balance": ');
    const server = await startServer({ DATA_DIR: dir });
    const names = await readdir(dir);
    const aside = names.find((n) => n.startsWith(`${corrupt}.corrupt-`));
    expect(aside).toBeDefined();
    expect(await readFile(join(dir, aside as string), 'utf8')).toBe('{"balance": ');
    expect(await readJson(join(dir, corrupt))).toMatchObject({ balance: 777 });
    expect(server.logs.some((l) => l.level === 50 && l.file === corrupt)).toBe(true);
  });

  it.each([
    [{ PORT: 'abc' }, 'PORT'],
    [{ PORT: '70000' }, 'PORT'],
    [{ INITIAL_BALANCE: '-5' }, 'INITIAL_BALANCE'],
    [{ LOG_LEVEL: 'loud' }, 'LOG_LEVEL'],
    [{ BALANCE_FILE: '../virtual_balance.json' }, 'BALANCE_FILE'],
    [{ TRADING_STATE_FILE: 'virtual_balance.json' }, 'TRADING_STATE_FILE'],
    [{ UPSTREAM_URL: 'not a url' }, 'UPSTREAM_URL'],
  ])('exits 1 with one line naming the bad variable: %j', async (env, name) => {
    const result = await startExpectingFailure({ DATA_DIR: await tempDir(), ...env });
    expect(result.code).toBe(1);
    expect(result.stderr.trim().split('\n')).toHaveLength(1);
    expect(result.stderr).toContain(name);
  });

  it('refuses at start-up a stale write-back made while it was stopped: the acknowledged balance stays, the toggle is kept', async () => {
    const dir = await tempDir();
    await writeJson(join(dir, ATS), { enabled: false, balance: 1000 });
    let server = await startServer({ DATA_DIR: dir });
    const cached = await readJson(join(dir, ATS));
    expect((await post(`${server.url}/virtual_balance`, { balance: 5000 })).status).toBe(200);
    await server.kill('SIGTERM');
    await writeJson(join(dir, ATS), { ...cached, enabled: true }); // newer than every other source

    server = await startServer({ DATA_DIR: dir });
    expect((await json(`${server.url}/virtual_balance`)).body.balance).toBe(5000);
    expect((await json(`${server.url}/auto_trading/status`)).body.data).toMatchObject({ enabled: true, balance: 5000 });
    expect(await readJson(join(dir, ATS))).toMatchObject({ enabled: true, balance: 5000 });
    expect(server.logs.some((l) => l.level === 40 && String(l.msg).includes('stale write-back') && l.file === ATS)).toBe(true);
  });

  it('serves the trading state from TRADING_STATE_FILE, the later legacy name', async () => {
    const dir = await tempDir();
    await writeJson(join(dir, 'auto_trading_status.json'), { enabled: true, balance: 4321 });
    const server = await startServer({ DATA_DIR: dir, TRADING_STATE_FILE: 'auto_trading_status.json' });
    expect((await json(`${server.url}/auto_trading/status`)).body.auto_trading).toMatchObject({ enabled: true, balance: 4321 });
    expect(await readJson(join(dir, VB))).toMatchObject({ balance: 4321 });
    expect((await readdir(dir)).includes(ATS)).toBe(false);
    expect((await json(`${server.url}/health`)).body.files).toHaveProperty(['auto_trading_status.json']);
  });

  it('warns once at start-up when it listens beyond loopback without API_TOKEN, and not on loopback or with a token', async () => {
    const tokenWarnings = (server: { logs: Record<string, unknown>[] }) => server.logs.filter((l) => l.level === 40 && String(l.msg).includes('API_TOKEN'));
    expect(tokenWarnings(await startServer({ DATA_DIR: await tempDir(), HOST: '0.0.0.0' }))).toHaveLength(1);
    expect(tokenWarnings(await startServer({ DATA_DIR: await tempDir() }))).toHaveLength(0);
    expect(tokenWarnings(await startServer({ DATA_DIR: await tempDir(), HOST: '0.0.0.0', API_TOKEN: 'secret' }))).toHaveLength(0);
  });
});

