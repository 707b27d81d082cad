// The stale-write-back decision: is a file's balance a deliberate change, or a legacy process writing
// back a copy it read revisions ago? Pure, like reconcile.

import { formatAmount, type Amount } from './amount.ts';

export interface WrittenBack {
  /** The balance the file now holds. */
  balance: Amount;
  /** The revision the service had recorded in the copy the writer read (`_balance_sync.revision`), if any. */
  revision: number | null;
}

export interface Verdict {
  stale: boolean;
  /** Why, in words for the log. */
  reason: string;
}

/**
 * A write is stale when it carries revision N below the current M and the balance it carries is
 * exactly revision N's (per the journal): the writer changed other fields and wrote back the balance
 * it had read. Anything else — another balance, no revision, a revision the journal no longer holds —
 * is a deliberate change.
 */
export function judgeWriteBack(
  written: WrittenBack,
  current: { balance: Amount; revision: number },
  /** The journal's balance of `written.revision`, or null when the journal does not hold it. */
  balanceAtWrittenRevision: Amount | null,
): Verdict {
  const n = written.revision;
  if (written.balance === current.balance) return { stale: false, reason: 'the balance did not change' };
  if (n === null) return { stale: false, reason: 'the file carries no revision' };
  if (n >= current.revision) return { stale: false, reason: `the file was written at the current revision ${n}` };
  if (balanceAtWrittenRevision === null) return { stale: false, reason: `the journal no longer holds revision ${n}` };
  if (balanceAtWrittenRevision !== written.balance) {
    return { stale: false, reason: `the balance differs from revision ${n}'s (${formatAmount(balanceAtWrittenRevision)})` };
  }
  return { stale: true, reason: `a copy of revision ${n} (${formatAmount(written.balance)}) written back at revision ${current.revision}` };
}
