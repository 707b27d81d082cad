// The stale-write-back decision: is a file's balance a deliberate change, or a legacy process writing
// back a copy it holds in memory, read revisions ago? The zero-difference case of the booking rule.

import type { Amount } from './amount.ts';
import { judgeLegacyWrite } from './booking.ts';

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
  /** The balance last written into this file by another process carrying that revision, when the journal names it (`basedOn`). */
  lastWritten?: Amount | null;
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
 * A write carrying revision N below the current M is stale when its balance is what its writer last
 * knew: revision N's (per the journal), or one this same file already wrote since N (a writer that
 * never re-reads writes its own last balance back with every toggle). Anything else is a booking or
 * a deliberate change (booking.ts).
 */
export function judgeWriteBack(written: WrittenBack, current: { balance: Amount; revision: number }, history: WriteBackHistory): Verdict {
  if (!mayBeStale(written, current)) {
    return { stale: false, reason: written.revision === null ? 'the file carries no revision' : 'the file was written at the current revision or balance' };
  }
  const judged = judgeLegacyWrite(written, current, { lastWritten: null, history });
  return { stale: judged.kind === 'unchanged', reason: judged.reason };
}
