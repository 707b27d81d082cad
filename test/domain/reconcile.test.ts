import { describe, expect, it } from 'vitest';
import { asAmount, type Amount } from '../../src/domain/amount.ts';
import { reconcile, type FileState, type JournalHead } from '../../src/domain/reconcile.ts';
import type { WriteBackHistory } from '../../src/domain/stale-write-back.ts';

const amount = (value: number): Amount => asAmount(BigInt(Math.round(value * 1e8)));
const valid = (balance: number, mtimeMs: number, revision: number | null = null): FileState => ({ status: 'valid', balance: amount(balance), mtimeMs, revision });
const missing: FileState = { status: 'missing' };
const corrupt: FileState = { status: 'corrupt', reason: 'not JSON' };
const noBalance: FileState = { status: 'no-balance', revision: null };
const initialBalance = amount(10_000);
/** Every time in these tables is in the past, but for the future-time cases below. */
const NOW = 1_000_000;

const decide = (vb: FileState, ats: FileState, journal: JournalHead | null = null, atsHistory?: WriteBackHistory) =>
  reconcile({
    files: [
      { name: 'virtual_balance.json', state: vb },
      { name: 'auto_trading_state.json', state: ats, ...(atsHistory && { history: atsHistory }) },
    ],
    journal,
    initialBalance,
    nowMs: NOW,
  });

describe('start-up reconciliation', () => {
  it.each([
    ['both equal', valid(15_000, 100), valid(15_000, 200), 15_000, 'auto_trading_state.json', false],
    ['the balance file newer', valid(12_346, 200), valid(9_989.76, 100), 12_346, 'virtual_balance.json', true],
    ['the trading state newer', valid(12_346, 100), valid(9_989.76, 200), 9_989.76, 'auto_trading_state.json', true],
    ['equal mtimes, higher revision in the trading state', valid(1, 100, 3), valid(2, 100, 4), 2, 'auto_trading_state.json', true],
    ['equal mtimes and revisions: the balance file', valid(1, 100, 3), valid(2, 100, 3), 1, 'virtual_balance.json', true],
    ['equal mtimes, no revisions: the balance file', valid(1, 100), valid(2, 100), 1, 'virtual_balance.json', true],
    ['only the balance file', valid(5, 100), missing, 5, 'virtual_balance.json', false],
    ['only the trading state', missing, valid(6, 100), 6, 'auto_trading_state.json', false],
    ['one corrupt, the other valid', corrupt, valid(7, 100), 7, 'auto_trading_state.json', false],
    ['one without a balance', valid(8, 100), noBalance, 8, 'virtual_balance.json', false],
  ])('%s', (_name, vb, ats, balance, winner, disagreed) => {
    const decision = decide(vb, ats);
    expect(decision).toMatchObject({ action: 'start', balance: amount(balance), winner, disagreed });
  });

  it.each([
    ['both missing', missing, missing],
    ['both without a balance', noBalance, noBalance],
    ['one missing, one without a balance', missing, noBalance],
  ])('starts from INITIAL_BALANCE when there is nothing to lose: %s', (_name, vb, ats) => {
    expect(decide(vb, ats)).toMatchObject({ action: 'start', balance: initialBalance, winner: 'initial', isChange: true });
  });

  it.each([
    ['one corrupt, one missing', corrupt, missing, ['virtual_balance.json']],
    ['both corrupt', corrupt, corrupt, ['virtual_balance.json', 'auto_trading_state.json']],
    ['one corrupt, one without a balance', noBalance, corrupt, ['auto_trading_state.json']],
  ])('refuses to start when a file is corrupt and nothing holds the balance: %s', (_name, vb, ats, names) => {
    expect(decide(vb, ats)).toEqual({ action: 'refuse', corrupt: names });
  });

  it('restores the balance from the journal when the files are corrupt', () => {
    const decision = decide(corrupt, corrupt, { balance: amount(4_242), atMs: 50, revision: 9 });
    expect(decision).toMatchObject({ action: 'start', balance: amount(4_242), winner: 'journal', revision: 9, isChange: false });
  });

  it('rolls forward a change that reached the journal but not the files', () => {
    const decision = decide(valid(100, 1_000, 4), valid(100, 1_001, 4), { balance: amount(200), atMs: 1_002, revision: 5 });
    expect(decision).toMatchObject({ balance: amount(200), winner: 'journal', revision: 5, isChange: false });
  });

  it('rolls forward a journal entry made in the same millisecond as the last save', () => {
    const decision = decide(valid(100, 1_000.7, 4), valid(100, 1_000.8, 4), { balance: amount(200), atMs: 1_000, revision: 5 });
    expect(decision).toMatchObject({ balance: amount(200), winner: 'journal' });
  });

  it('lets an outside edit made after the last journal entry win, as a new revision', () => {
    const decision = decide(valid(100, 1_000, 5), valid(300, 2_000, 5), { balance: amount(100), atMs: 999, revision: 5 });
    expect(decision).toMatchObject({ balance: amount(300), winner: 'auto_trading_state.json', revision: 6, isChange: true });
  });

  it('never goes back on a revision recorded in any file', () => {
    const decision = decide(valid(100, 1_000, 41), valid(100, 900, 7));
    expect(decision).toMatchObject({ revision: 42 });
  });

  it('explains a disagreement with both values', () => {
    const decision = decide(valid(12_346, 200), valid(9_989.76, 100));
    expect(decision.action === 'start' && decision.reason).toBe('virtual_balance.json (12346) over auto_trading_state.json (9989.76): it is newer');
  });

  it('refuses a stale write-back made while stopped: a newer copy of an older revision with that revision\'s balance', () => {
    const decision = decide(valid(5_000, 1_000, 8), valid(1_000, 2_000, 3), { balance: amount(5_000), atMs: 999, revision: 8 }, { atRevision: amount(1_000), echoes: [] });
    expect(decision).toMatchObject({ balance: amount(5_000), winner: 'virtual_balance.json', revision: 8, isChange: false, stale: ['auto_trading_state.json'] });
  });

  it('rolls forward, without calling it stale, a file merely behind the journal (a crash between the journal and the files)', () => {
    const decision = decide(valid(1_000, 900, 3), valid(1_000, 901, 3), { balance: amount(5_000), atMs: 999, revision: 4 }, { atRevision: amount(1_000), echoes: [] });
    expect(decision).toMatchObject({ balance: amount(5_000), winner: 'journal', stale: [] });
  });

  it('counts a newer copy of an older revision whose balance was changed as a booking on top of the journal (the booking rule, as at run time)', () => {
    const decision = decide(valid(5_000, 1_000, 8), valid(1_234, 2_000, 3), { balance: amount(5_000), atMs: 999, revision: 8 }, { atRevision: amount(1_000), echoes: [] });
    expect(decision).toMatchObject({ balance: amount(5_234), winner: 'auto_trading_state.json', revision: 9, isChange: true, stale: [], booking: { file: 'auto_trading_state.json', written: amount(1_234) } });
    expect(decision.action === 'start' && decision.reason).toMatch(/^auto_trading_state\.json: a legacy booking made while the service was stopped: \+234 booked on revision 3/);
  });

  it('adopts such a copy as written when it carries no revision: a deliberate edit', () => {
    const decision = decide(valid(5_000, 1_000, 8), valid(1_234, 2_000), { balance: amount(5_000), atMs: 999, revision: 8 });
    expect(decision).toMatchObject({ balance: amount(1_234), winner: 'auto_trading_state.json', revision: 9, isChange: true, stale: [] });
  });

  describe('times in the future (a clock that ran ahead)', () => {
    const HOUR = 60 * 60 * 1000;

    it('a file mtime more than 5 s ahead ranks below a file whose time is not, and is named', () => {
      const decision = decide(valid(777, NOW + HOUR), valid(1_234, NOW - 10_000));
      expect(decision).toMatchObject({ balance: amount(1_234), winner: 'auto_trading_state.json', future: [{ source: 'virtual_balance.json', timeMs: NOW + HOUR }] });
      expect(decision.action === 'start' && decision.reason).toBe("auto_trading_state.json (1234) over virtual_balance.json (777): virtual_balance.json's time is in the future");
    });

    it('a journal written while the clock ran ahead ranks below a later edit of a file', () => {
      const decision = decide(valid(5_000, NOW - 60_000, 4), valid(7_000, NOW - 1_000, 4), { balance: amount(5_000), atMs: NOW + HOUR, revision: 4 });
      expect(decision).toMatchObject({ balance: amount(7_000), winner: 'auto_trading_state.json', revision: 5, future: [{ source: 'journal' }] });
    });

    it('within 5 s of now a time is believed', () => {
      expect(decide(valid(1, NOW + 4_000), valid(2, NOW - 1_000))).toMatchObject({ balance: amount(1), future: [] });
    });

    it('a stale write-back is still refused when the journal\'s time is in the future', () => {
      const decision = decide(valid(5_000, NOW - 60_000, 8), valid(1_000, NOW - 1_000, 3), { balance: amount(5_000), atMs: NOW + HOUR, revision: 8 }, { atRevision: amount(1_000), echoes: [] });
      expect(decision).toMatchObject({ balance: amount(5_000), stale: ['auto_trading_state.json'] });
    });

    it('among times that are all in the future, the latest still wins', () => {
      expect(decide(valid(1, NOW + HOUR), valid(2, NOW + 2 * HOUR))).toMatchObject({ balance: amount(2), winner: 'auto_trading_state.json' });
    });
  });
});
