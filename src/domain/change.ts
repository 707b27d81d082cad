// Applying one requested change to the working state of a batch: pure, exact, and validated.

import { MAX_AMOUNT, ZERO, asAmount, formatAmount, type Amount } from './amount.ts';
import { BalanceOutOfRangeError, PreconditionFailedError } from './errors.ts';
import type { BalanceRecord, JournalEntry } from './ports.ts';

export type ChangeOp = { kind: 'set'; balance: Amount } | { kind: 'delta'; delta: Amount } | { kind: 'reset' };

/** Revisions a precondition names: a list, or any revision at all. */
export type RevisionSet = readonly number[] | 'any';

export interface ChangeRequest {
  op: ChangeOp;
  reason?: string;
  /** The change applies only if the current revision is in `ifMatch` and not in `ifNoneMatch`. */
  precondition?: { ifMatch?: RevisionSet; ifNoneMatch?: RevisionSet };
  idempotency?: { key: string; requestHash: string };
}

/** The balance as served: what a GET returns and what a change answers with. */
export interface Snapshot {
  balance: Amount;
  revision: number;
  updatedAt: string;
}

export const toRecord = ({ balance, revision, updatedAt }: Snapshot): BalanceRecord => ({ balance, revision, updatedAt });

/** The next snapshot and its journal entry, or the client error that rejects the change. */
export function applyChange(
  current: Snapshot,
  request: ChangeRequest,
  context: { initialBalance: Amount; at: string },
): { snapshot: Snapshot; entry: JournalEntry } {
  const { ifMatch, ifNoneMatch } = request.precondition ?? {};
  if ((ifMatch && !names(ifMatch, current.revision)) || (ifNoneMatch && names(ifNoneMatch, current.revision))) {
    throw new PreconditionFailedError();
  }
  const balance = nextBalance(current.balance, request.op, context.initialBalance);
  const snapshot: Snapshot = { balance, revision: current.revision + 1, updatedAt: context.at };
  const entry: JournalEntry = {
    revision: snapshot.revision,
    at: context.at,
    balance,
    previous: current.balance,
    source: request.op.kind === 'reset' ? 'reset' : 'api',
  };
  if (request.reason !== undefined) entry.reason = request.reason;
  if (request.idempotency) {
    entry.idempotency_key = request.idempotency.key;
    entry.request_hash = request.idempotency.requestHash;
  }
  return { snapshot, entry };
}

const names = (set: RevisionSet, revision: number) => set === 'any' || set.includes(revision);

/** The change an outside write of a file makes, as judged (booking.ts); `reason` says how it was judged. */
export function adoptExternal(
  current: Snapshot,
  balance: Amount,
  file: string,
  at: string,
  { reason, written, basedOn }: { reason?: string | undefined; written?: Amount; basedOn?: number | null } = {},
): { snapshot: Snapshot; entry: JournalEntry } {
  const snapshot: Snapshot = { balance, revision: current.revision + 1, updatedAt: at };
  const entry: JournalEntry = { revision: snapshot.revision, at, balance, previous: current.balance, source: `external:${file}` };
  if (reason !== undefined) entry.reason = reason.slice(0, 200);
  if (written !== undefined && written !== balance) entry.written = written;
  if (basedOn !== undefined && basedOn !== null) entry.basedOn = basedOn;
  return { snapshot, entry };
}

function nextBalance(balance: Amount, op: ChangeOp, initialBalance: Amount): Amount {
  switch (op.kind) {
    case 'set':
      return op.balance;
    case 'reset':
      return initialBalance;
    case 'delta': {
      const next = balance + op.delta;
      if (next < ZERO) {
        throw new BalanceOutOfRangeError(
          `a delta of ${formatAmount(op.delta)} would take the balance of ${formatAmount(balance)} below 0`,
        );
      }
      if (next > MAX_AMOUNT) throw new BalanceOutOfRangeError('the delta would take the balance above 1000000000000');
      return asAmount(next);
    }
  }
}
