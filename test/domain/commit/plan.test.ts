import { describe, expect, it } from 'vitest';
import { asAmount, type Amount } from '../../../src/domain/amount.ts';
import type { ChangeRequest, Snapshot } from '../../../src/domain/change.ts';
import { planBatch, type Remembered } from '../../../src/domain/commit/plan.ts';

const amount = (value: number): Amount => asAmount(BigInt(Math.round(value * 1e8)));
const current: Snapshot = { balance: amount(100), revision: 7, updatedAt: '2026-11-25T10:00:00.000Z' };
const at = '2026-11-25T11:00:00.000Z';
const job = (request: ChangeRequest) => ({ request });
const delta = (value: number, idempotency?: { key: string; requestHash: string }): ChangeRequest => ({
  op: { kind: 'delta', delta: amount(value) },
  ...(idempotency && { idempotency }),
});

const plan = (jobs: ChangeRequest[], remembered: Record<string, Remembered> = {}) =>
  planBatch(current, jobs.map(job), { initialBalance: amount(10_000), at, remembered: (key) => remembered[key] });

describe('planning a batch', () => {
  it('applies each request to the balance the one before it left, one revision and one entry each', () => {
    const { snapshot, entries, outcomes } = plan([delta(1), delta(-0.5), { op: { kind: 'set', balance: amount(42) } }]);
    expect(snapshot).toEqual({ balance: amount(42), revision: 10, updatedAt: at });
    expect(entries.map((e) => [e.revision, e.previous, e.balance])).toEqual([
      [8, amount(100), amount(101)],
      [9, amount(101), amount(100.5)],
      [10, amount(100.5), amount(42)],
    ]);
    expect(outcomes.map((o) => ('snapshot' in o ? o.snapshot.revision : o.error.status))).toEqual([8, 9, 10]);
  });

  it('lets a refused request fail alone: the others still apply', () => {
    const { snapshot, outcomes } = plan([delta(-500), delta(5), { op: { kind: 'set', balance: amount(1) }, precondition: { ifMatch: [3] } }]);
    expect(outcomes.map((o) => ('error' in o ? o.error.status : 200))).toEqual([409, 200, 412]);
    expect(snapshot.balance).toBe(amount(105));
  });

  it('answers a repeated Idempotency-Key with the first answer, within the batch and from earlier batches', () => {
    const key = { key: 'trade-1', requestHash: 'h1' };
    const earlier: Remembered = { requestHash: 'h0', snapshot: { ...current, revision: 3 } };
    const { snapshot, entries, outcomes } = plan([delta(1, key), delta(1, key), delta(1, { key: 'old', requestHash: 'h0' })], { old: earlier });
    expect(entries).toHaveLength(1);
    expect(snapshot.balance).toBe(amount(101));
    expect(outcomes.map((o) => ('snapshot' in o ? [o.snapshot.revision, o.replayed] : o.error.status))).toEqual([
      [8, false],
      [8, true],
      [3, true],
    ]);
  });

  it('refuses a known Idempotency-Key with another body (422), applying nothing for it', () => {
    const { entries, outcomes } = plan([delta(1, { key: 'k', requestHash: 'a' }), delta(2, { key: 'k', requestHash: 'b' })]);
    expect(entries).toHaveLength(1);
    expect(outcomes.map((o) => ('error' in o ? o.error.status : 200))).toEqual([200, 422]);
  });
});
