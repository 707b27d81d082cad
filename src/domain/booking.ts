// The booking rule (SPEC, Legacy bookings and API changes both count): what another process's write
// of a file's balance does to the current balance. Pure, like reconcile; a stale write-back or an
// echo is its case of a zero difference (stale-write-back.ts).

import { formatAmount, MAX_AMOUNT, ZERO, asAmount, type Amount } from './amount.ts';
import type { WriteBackHistory, WrittenBack } from './stale-write-back.ts';

/** What the service knows of what the writer knew when it read the file at the revision it carries. */
export interface WhatItKnew {
  /** The balance last written into this file by another process carrying that same revision (memory). */
  lastWritten: Amount | null;
  /** What the journal knows since that revision; not needed when it is the current one. */
  history: WriteBackHistory | null;
}

export type Judgement =
  /** A deliberate change: no revision, one the journal no longer holds, or one from elsewhere. */
  | { kind: 'adopt'; balance: Amount; reason: string }
  /** The writer wrote back what it knew: a stale copy or an echo. Nothing changes. */
  | { kind: 'unchanged'; reason: string }
  /** A booking: `difference` applied on top of the current balance. */
  | { kind: 'book'; balance: Amount; difference: Amount; basedOn: number; knew: Amount; reason: string }
  /** A booking that would leave the range (below 0): adopted as written, and said so. */
  | { kind: 'out-of-range'; balance: Amount; difference: Amount; basedOn: number; knew: Amount; reason: string };

/**
 * A write carrying revision N booked the difference between the balance it writes and the one its
 * writer last knew: the balance last written into that file by another process carrying N, or else
 * revision N's balance. Applied to the current balance (revision M ≥ N) it keeps both the legacy
 * booking and every change acknowledged since N.
 */
export function judgeLegacyWrite(written: WrittenBack, current: { balance: Amount; revision: number }, knew: WhatItKnew): Judgement {
  const n = written.revision;
  if (n === null) return { kind: 'adopt', balance: written.balance, reason: 'the file carries no revision' };
  if (n > current.revision) return { kind: 'adopt', balance: written.balance, reason: `the file carries revision ${n}, newer than the current ${current.revision}` };
  const atRevision = n === current.revision ? current.balance : (knew.history?.atRevision ?? null);
  const baseline = knew.lastWritten ?? atRevision;
  if (baseline === null) return { kind: 'adopt', balance: written.balance, reason: `the journal no longer holds revision ${n}` };
  const copy = `${formatAmount(written.balance)} written back with revision ${n} at revision ${current.revision}`;
  if (written.balance === baseline) return { kind: 'unchanged', reason: `${copy}: the balance its writer last knew` };
  // After a restart the memory is empty: the journal still names the balances this file wrote since N.
  if (knew.lastWritten === null && knew.history?.echoes.includes(written.balance)) {
    return { kind: 'unchanged', reason: `${copy}: the balance this file itself wrote after revision ${n}` };
  }
  const difference = asAmount(written.balance - baseline);
  const next = current.balance + difference;
  const booking = { difference, basedOn: n, knew: baseline };
  const words = `${signed(difference)} booked on revision ${n} (${formatAmount(written.balance)} written over ${formatAmount(baseline)})`;
  if (next < ZERO || next > MAX_AMOUNT) {
    return { kind: 'out-of-range', balance: written.balance, ...booking, reason: `${words} would take ${formatAmount(current.balance)} out of range` };
  }
  return { kind: 'book', balance: asAmount(next), ...booking, reason: `${words}, applied at revision ${current.revision}` };
}

const signed = (amount: Amount): string => (amount < ZERO ? formatAmount(amount) : `+${formatAmount(amount)}`);
