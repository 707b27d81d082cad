import { describe, expect, it } from 'vitest';
import { asAmount, type Amount } from '../../src/domain/amount.ts';
import { judgeLegacyWrite, type Judgement } from '../../src/domain/booking.ts';
import { LegacyWrites } from '../../src/domain/legacy-writes.ts';

const amount = (value: number): Amount => asAmount(BigInt(Math.round(value * 1e8)));
/** The API has moved on to revision 9 and 10100 since the writer read revision 4 (10000). */
const current = { balance: amount(10100), revision: 9 };
const journal = (atRevision: number | null, echoes: number[] = []) => ({ atRevision: atRevision === null ? null : amount(atRevision), echoes: echoes.map(amount) });

type Row = [string, { balance: number; revision: number | null }, { lastWritten?: number; history?: ReturnType<typeof journal> }, Judgement['kind'], number | null];

describe('the booking rule: a legacy write of a balance, judged against what its writer last knew', () => {
  it.each<Row>([
    ['a booking after the API moved on: its difference lands on top of the acknowledged changes', { balance: 10001, revision: 4 }, { history: journal(10000) }, 'book', 10101],
    ['a loss booked the same way', { balance: 9975.5, revision: 4 }, { history: journal(10000) }, 'book', 10075.5],
    ['an echo of the same booking by a writer that never re-reads', { balance: 10001, revision: 4 }, { lastWritten: 10001, history: journal(10000) }, 'unchanged', null],
    ['the next booking of that writer: the difference from its own last write', { balance: 10003, revision: 4 }, { lastWritten: 10001, history: journal(10000) }, 'book', 10102],
    ['a stale write-back (a toggle): the balance it read', { balance: 10000, revision: 4 }, { history: journal(10000) }, 'unchanged', null],
    ['an echo the journal knows of, after a restart', { balance: 10050, revision: 4 }, { history: journal(10000, [10050]) }, 'unchanged', null],
    ['a write with no revision (a hand edit, an old writer): as written', { balance: 777, revision: null }, {}, 'adopt', 777],
    ['a revision the journal no longer holds: as written', { balance: 777, revision: 4 }, { history: journal(null) }, 'adopt', 777],
    ['a revision from the future: as written', { balance: 777, revision: 12 }, {}, 'adopt', 777],
    ['the current revision: the difference from the current balance, so as written', { balance: 10150, revision: 9 }, {}, 'book', 10150],
    ['a booking that would go below 0: adopted as written', { balance: 0, revision: 4 }, { history: journal(10200) }, 'out-of-range', 0],
  ])('%s', (_what, written, knew, kind, balance) => {
    const verdict = judgeLegacyWrite(
      { balance: amount(written.balance), revision: written.revision },
      current,
      { lastWritten: knew.lastWritten === undefined ? null : amount(knew.lastWritten), history: knew.history ?? null },
    );
    expect(verdict.kind).toBe(kind);
    expect('balance' in verdict ? verdict.balance : null).toBe(balance === null ? null : amount(balance));
    expect(verdict.reason).not.toBe('');
  });

  it('is exact to the last of 8 decimals', () => {
    const verdict = judgeLegacyWrite({ balance: amount(10000.00000003), revision: 4 }, current, { lastWritten: null, history: journal(10000.00000001) });
    expect(verdict).toMatchObject({ kind: 'book', balance: amount(10100.00000002), difference: amount(0.00000002) });
  });

  it('says what it booked on which revision, for the journal and the log', () => {
    const verdict = judgeLegacyWrite({ balance: amount(10001), revision: 4 }, current, { lastWritten: null, history: journal(10000) });
    expect(verdict).toMatchObject({ kind: 'book', basedOn: 4, knew: amount(10000), difference: amount(1) });
    expect(verdict.reason).toContain('+1 booked on revision 4');
  });
});

describe('a seed-era save that writes both files', () => {
  const ats = 'auto_trading_state.json';
  const vb = 'virtual_balance.json';

  it('is the same booking arriving twice when the second file gets the balance the first just got (within 1 s)', () => {
    const legacy = LegacyWrites.empty();
    legacy.record(ats, { balance: amount(10001), revision: 4, mtimeMs: 1_000 });
    expect(legacy.sameSaveAs(vb, { balance: amount(10001), revision: null, mtimeMs: 1_400 })).toBe(ats);
  });

  it.each([
    ['another balance', 10002, 1_400],
    ['the same balance, but seconds later', 10001, 3_000],
  ])('is a change of its own with %s', (_what, balance, mtimeMs) => {
    const legacy = LegacyWrites.empty();
    legacy.record(ats, { balance: amount(10001), revision: 4, mtimeMs: 1_000 });
    expect(legacy.sameSaveAs(vb, { balance: amount(balance), revision: null, mtimeMs })).toBeNull();
  });

  it('keeps what a try at a batch recorded only once the batch is committed', () => {
    const legacy = LegacyWrites.empty();
    const first = legacy.draft();
    first.record(ats, { balance: amount(10001), revision: 4, mtimeMs: 1 });
    expect(first.lastWritten(ats, 4)).toBe(amount(10001));
    expect(legacy.lastWritten(ats, 4)).toBeNull(); // the try raced: judged again, against the same memory
    const second = legacy.draft();
    second.record(ats, { balance: amount(10001), revision: 4, mtimeMs: 1 });
    second.keep();
    expect(legacy.lastWritten(ats, 4)).toBe(amount(10001));
  });

  it('remembers, per file and revision, the balance a writer last wrote', () => {
    const legacy = LegacyWrites.empty();
    legacy.record(ats, { balance: amount(10001), revision: 4, mtimeMs: 1 });
    legacy.record(ats, { balance: amount(10002), revision: 4, mtimeMs: 2 });
    expect(legacy.lastWritten(ats, 4)).toBe(amount(10002));
    expect(legacy.lastWritten(vb, 4)).toBeNull();
    expect(legacy.lastWritten(ats, 5)).toBeNull();
  });
});
