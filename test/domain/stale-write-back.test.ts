import { describe, expect, it } from 'vitest';
import { asAmount, type Amount } from '../../src/domain/amount.ts';
import { judgeWriteBack } from '../../src/domain/stale-write-back.ts';

const amount = (value: number): Amount => asAmount(BigInt(Math.round(value * 1e8)));
const current = { balance: amount(5000), revision: 7 };
const history = (atRevision: number | null, echoes: number[] = []) => ({ atRevision: atRevision === null ? null : amount(atRevision), echoes: echoes.map(amount) });

describe('stale write-backs', () => {
  it.each([
    ['the balance of its older revision, as read', { balance: 1000, revision: 3 }, history(1000), true],
    ['the balance of a much older revision', { balance: 10000, revision: 1 }, history(10000), true],
    ['a balance this file itself wrote after its revision (an echo)', { balance: 10050, revision: 1 }, history(10000, [10050]), true],
    ['another balance than its revision held', { balance: 1234, revision: 3 }, history(1000), false],
    ['another balance than any this file wrote since', { balance: 1234, revision: 3 }, history(1000, [10050]), false],
    ['no revision (a hand edit or an old writer)', { balance: 1000, revision: null }, history(null), false],
    ['a revision the journal no longer holds', { balance: 1000, revision: 3 }, history(null), false],
    ['the current revision with another balance', { balance: 1000, revision: 7 }, history(5000), false],
    ['a revision from the future', { balance: 1000, revision: 9 }, history(null), false],
    ['the current balance', { balance: 5000, revision: 3 }, history(5000), false],
  ])('a file carrying %s: stale %s', (_what, written, known, stale) => {
    const verdict = judgeWriteBack({ balance: amount(written.balance), revision: written.revision }, current, known);
    expect(verdict.stale).toBe(stale);
    expect(verdict.reason).not.toBe('');
  });

  it('compares amounts exactly, to the last of 8 decimals', () => {
    const verdict = judgeWriteBack({ balance: amount(1000.00000001), revision: 3 }, current, history(1000, [1000.00000002]));
    expect(verdict.stale).toBe(false);
  });
});
