// The stale-write-back decision: is a file's balance a deliberate change, or a legacy process writing
// back a copy it holds in memory, read revisions ago? Pure, like reconcile.

import { formatAmount, type Amount } from './amount.ts';

export interface WrittenBack {
  /** The balance the file now holds. */
  balance: Amount;
  /** The revision the service had recorded in the copy the writer read (`_balance_sync.revision`), if any. */
  revision: number | null;
}

/** What the journal knows since the revision a write carries. */
export interface WriteBackHistory {
  /** The balance at exactly that revision, or null when the journal no longer holds it. */
  atRevision: Amount | null;
  /** Balances this same file wrote later that were adopted (`external:<file>` entries after that revision). */
  echoes: readonly Amount[];
}

export interface Verdict {
  stale: boolean;
  /** Why, in words for the log. */
  reason: string;
}

/** Only a write carrying an older revision than the current one can be stale: the journal is asked only then. */
export const mayBeStale = (written: WrittenBack, current: { balance: Amount; revision: number }): boolean =>
  written.revision !== null && written.revision < current.revision && written.balance !== current.balance;

/**
 * A write carrying revision N below the current M is stale when its balance is revision N's (per the
 * journal): the writer changed other fields and wrote back the balance it had read. It is stale too
 * when its balance is one this same file already wrote since N and the service adopted: a writer
 * that never re-reads the file writes its own last balance back with every toggle, and the
 * acknowledged changes made since must not be undone by that echo. Anything else — another balance,
 * no revision, a revision the journal no longer holds — is a deliberate change.
 */
export function judgeWriteBack(written: WrittenBack, current: { balance: Amount; revision: number }, history: WriteBackHistory): Verdict {
  if (!mayBeStale(written, current)) {
    return { stale: false, reason: written.revision === null ? 'the file carries no revision' : 'the file was written at the current revision or balance' };
  }
  const n = written.revision as number;
  const copy = `a copy of revision ${n} (${formatAmount(written.balance)}) written back at revision ${current.revision}`;
  if (history.atRevision === null) return { stale: false, reason: `the journal no longer holds revision ${n}` };
  if (history.atRevision === written.balance) return { stale: true, reason: copy };
  if (history.echoes.includes(written.balance)) return { stale: true, reason: `${copy}: the balance this file itself wrote after revision ${n}` };
  return { stale: false, reason: `the balance differs from revision ${n}'s (${formatAmount(history.atRevision)})` };
}
