// Start-up when the truth is shared (DATABASE_URL): the first host brings its folder in — balance,
// revision, journal and keys — and every later one takes the shared balance into its files.

import { formatAmount } from './amount.ts';
import { toRecord, type Snapshot } from './change.ts';
import { rewrite } from './commit/write-through.ts';
import type { JournalEntry } from './ports.ts';
import { settleFromDisk, type SettleDeps } from './settle-from-disk.ts';
import type { SharedTruth } from './shared-truth.ts';

export interface SettleSharedDeps extends SettleDeps {
  truth: SharedTruth;
  /** Every entry the local journal holds (for the first host to bring in), oldest first. */
  localHistory: () => Promise<JournalEntry[]>;
}

export async function settleShared(deps: SettleSharedDeps): Promise<{ snapshot: Snapshot; quarantined: string[]; staleRefused: string[] }> {
  const { truth, stores, log } = deps;
  if ((await truth.head()) === null) {
    // As on one host first — reconciled, healed, journaled — then all of it into the shared truth.
    const local = await settleFromDisk(deps);
    const imported = await truth.importAccount({ snapshot: local.snapshot, entries: await deps.localHistory(), keys: deps.journal.keysInWindow() });
    if (imported === 'imported') {
      log.info({ balance: formatAmount(local.snapshot.balance), revision: local.snapshot.revision, host: truth.hostId }, 'brought this folder\'s balance, journal and keys into the shared database');
      return local;
    }
  }
  const head = await truth.head();
  if (head === null) throw new Error('the shared database lost the account it was just holding');

  // Joining: the database's balance goes into the files. A different one here is logged, never sent.
  const quarantined: string[] = [];
  for (const store of stores) {
    const { state } = await store.read();
    if (state.status === 'valid' && state.balance !== head.balance) {
      log.warn({ file: store.name, local: formatAmount(state.balance), shared: formatAmount(head.balance), revision: head.revision }, 'this host\'s file held another balance than the shared database: took the database\'s');
    }
    if (state.status === 'corrupt' || state.status === 'unreadable') {
      const copy = await store.keepCopy();
      quarantined.push(store.name);
      log.error({ file: store.name, reason: state.reason, copy }, 'kept a copy of a file that could not be read before writing the shared balance into it');
    }
  }
  await rewrite(stores, toRecord(head));
  await deps.syncFolder();
  log.info({ balance: formatAmount(head.balance), revision: head.revision, host: truth.hostId }, 'joined the shared balance');
  return { snapshot: head, quarantined, staleRefused: [] };
}
