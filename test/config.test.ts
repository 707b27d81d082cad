import { describe, expect, it } from 'vitest';
import { isLoopback, loadConfig } from '../src/config.ts';

const message = (env: Record<string, string>) => {
  const result = loadConfig(env);
  return result.ok ? null : result.message;
};

describe('configuration', () => {
  it('defaults to the legacy names, port and no upstream', () => {
    const result = loadConfig({});
    expect(result.ok && result.config).toMatchObject({
      PORT: 8001,
      BALANCE_FILE: 'virtual_balance.json',
      TRADING_STATE_FILE: 'auto_trading_state.json',
      UPSTREAM_TIMEOUT_MS: 30_000,
    });
    expect(result.ok && result.config.UPSTREAM_URL).toBeUndefined();
  });

  it('takes the later legacy name of the trading state, and an upstream base URL without its trailing slash', () => {
    const result = loadConfig({ TRADING_STATE_FILE: 'auto_trading_status.json', UPSTREAM_URL: 'http://127.0.0.1:8002/' });
    expect(result.ok && result.config).toMatchObject({ TRADING_STATE_FILE: 'auto_trading_status.json', UPSTREAM_URL: 'http://127.0.0.1:8002' });
  });

  it.each([
    [{ BALANCE_FILE: 'sub/virtual_balance.json' }, 'BALANCE_FILE'],
    [{ BALANCE_FILE: '..\\virtual_balance.json' }, 'BALANCE_FILE'],
    [{ TRADING_STATE_FILE: '../auto_trading_state.json' }, 'TRADING_STATE_FILE'],
    [{ TRADING_STATE_FILE: '..' }, 'TRADING_STATE_FILE'],
    [{ BALANCE_FILE: '' }, 'BALANCE_FILE'],
    [{ BALANCE_FILE: 'balance_journal.jsonl' }, 'BALANCE_FILE'],
    [{ TRADING_STATE_FILE: 'virtual_balance.json' }, 'TRADING_STATE_FILE'],
    [{ BALANCE_FILE: 'state.json', TRADING_STATE_FILE: 'state.json.1' }, 'TRADING_STATE_FILE'],
    [{ UPSTREAM_URL: 'localhost:8002' }, 'UPSTREAM_URL'],
    [{ UPSTREAM_URL: 'ftp://127.0.0.1:8002' }, 'UPSTREAM_URL'],
    [{ UPSTREAM_URL: 'http://127.0.0.1:8002/api' }, 'UPSTREAM_URL'],
    [{ UPSTREAM_TIMEOUT_MS: '0' }, 'UPSTREAM_TIMEOUT_MS'],
    [{ UPSTREAM_TIMEOUT_MS: '5s' }, 'UPSTREAM_TIMEOUT_MS'],
  ])('refuses %j in one line naming %s', (env, variable) => {
    const line = message(env);
    expect(line).toMatch(new RegExp(`^invalid configuration: ${variable} `));
    expect(line).not.toContain('\n');
  });

  it.each([
    ['127.0.0.1', true],
    ['127.0.0.2', true],
    ['::1', true],
    ['localhost', true],
    ['0.0.0.0', false],
    ['::', false],
    ['192.168.1.20', false],
  ])('counts HOST %s as loopback: %s', (host, loopback) => {
    expect(isLoopback(host)).toBe(loopback);
  });
});

describe('the settings of one balance across hosts', () => {
  it('leaves DATABASE_URL unset by default, with the account "default" and the host name as HOST_ID', () => {
    const result = loadConfig({});
    expect(result.ok && result.config).toMatchObject({ ACCOUNT: 'default', HOST_ID: expect.stringMatching(/^\S+$/) });
    expect(result.ok && result.config.DATABASE_URL).toBeUndefined();
  });

  it('takes a postgres:// or postgresql:// URL, and refuses anything else without repeating its password', () => {
    expect(loadConfig({ DATABASE_URL: 'postgresql://u:p@db.internal:5432/trading' })).toMatchObject({ ok: true });
    const bad = message({ DATABASE_URL: 'mysql://u:secret@db/trading' });
    expect(bad).toMatch(/^invalid configuration: DATABASE_URL must be a URL such as postgres:/);
    expect(bad).not.toContain('secret');
  });

  it('refuses a HOST_ID with spaces or control characters', () => {
    expect(message({ HOST_ID: 'my host' })).toMatch(/^invalid configuration: HOST_ID must be 1–100 visible ASCII characters/);
  });
});
