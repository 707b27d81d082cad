// What other processes did to the files since the service last looked: balances to adopt, files to heal.

import { formatAmount } from './amount.ts';
import { adoptExternal, type Snapshot } from './change.ts';
import type { BalanceStore, JournalEntry, JournalPort, Log, Observation } from './ports.ts';
import { judgeWriteBack, mayBeStale } from './stale-write-back.ts';

export interface OutsideEdits {
  /** The balance after adopting every outside balance, oldest edit first. */
  snapshot: Snapshot;
  /** One `external:<file>` entry per adopted balance. */
  entries: JournalEntry[];
  /** The trading state changed on disk (its other fields may have moved). */
  tradingMoved: boolean;
  /** Files whose balance was a stale copy: their other fields were adopted, the balance was not. */
  staleRefused: string[];
  /** Corrupt files moved aside. */
  quarantined: string[];
}

/**
 * Reads each file whose fingerprint changed (every file when `rereadAll`), adopts outside balances,
 * and moves corrupt files aside. Missing, corrupt or balance-less files are left for the save that
 * follows to rewrite: their last-seen balance no longer matches.
 */
export async function observeOutsideEdits(
  { stores, journal, log, now }: { stores: readonly BalanceStore[]; journal: Pick<JournalPort, 'writeBackHistory'>; log: Log; now: () => number },
  current: Snapshot,
  rereadAll: boolean,
): Promise<OutsideEdits> {
  const seen: { store: BalanceStore; observation: Observation }[] = [];
  // Both files at once: this runs on every look at the files, and before a batch that was sent round again.
  const changed = await Promise.all(stores.map((store) => rereadAll || store.hasChanged()));
  for (const [i, store] of stores.entries()) {
    if (!changed[i]) continue;
    const observation = await store.read();
    if (!observation.isOwnWrite) seen.push({ store, observation });
  }

  let snapshot = current;
  const entries: JournalEntry[] = [];
  const staleRefused: string[] = [];
  const quarantined: string[] = [];
  const valid = seen.flatMap(({ store, observation: { state } }) => (state.status === 'valid' ? [{ store, state }] : []));
  valid.sort((a, b) => a.state.mtimeMs - b.state.mtimeMs);
  for (const { store, state } of valid) {
    if (state.balance === snapshot.balance) continue;
    if (mayBeStale(state, snapshot)) {
      const verdict = judgeWriteBack(state, snapshot, await journal.writeBackHistory(state.revision as number, store.name));
      if (verdict.stale) {
        // The file keeps its other fields; the save that follows writes the current balance back into it.
        log.warn(
          {
            file: store.name,
            fileRevision: state.revision,
            revision: snapshot.revision,
            fileBalance: formatAmount(state.balance),
            balance: formatAmount(snapshot.balance),
            reason: verdict.reason,
          },
          'refused a stale write-back: kept the current balance and adopted the other fields',
        );
        staleRefused.push(store.name);
        continue;
      }
    }
    const adopted = adoptExternal(snapshot, state.balance, store.name, new Date(now()).toISOString());
    log.info(
      { file: store.name, previous: formatAmount(snapshot.balance), balance: formatAmount(state.balance), revision: adopted.snapshot.revision },
      'adopted an outside edit',
    );
    snapshot = adopted.snapshot;
    entries.push(adopted.entry);
  }

  for (const { store, observation: { state, restoredFrom } } of seen) {
    if (restoredFrom) log.warn({ file: store.name, from: restoredFrom }, 'a stalled writer finished its write in the quarantined copy; put it back in place');
    if (state.status === 'corrupt') {
      const aside = await store.quarantine();
      quarantined.push(store.name);
      log.error({ file: store.name, reason: state.reason, movedTo: aside }, 'quarantined a corrupt file; rewriting it from memory');
    } else if (state.status === 'missing') {
      log.warn({ file: store.name }, 'a file was deleted; re-creating it from memory');
    } else if (state.status === 'no-balance') {
      log.warn({ file: store.name }, 'a file lost its balance; rewriting it');
    }
  }
  return { snapshot, entries, tradingMoved: seen.some(({ store }) => store.role === 'trading'), staleRefused, quarantined };
}
