// Start-up when the truth is shared (DATABASE_URL): the first host brings its folder in — balance,
// revision, journal and keys — and every later one takes the shared balance into its files.

import { formatAmount } from './amount.ts';
import { judgeLegacyWrite } from './booking.ts';
import { toRecord, type Snapshot } from './change.ts';
import { rewrite } from './commit/write-through.ts';
import type { BalanceStore, JournalEntry } from './ports.ts';
import type { FileState } from './reconcile.ts';
import { settleFromDisk, type SettleDeps } from './settle-from-disk.ts';
import type { SharedTruth } from './shared-truth.ts';

export interface SettleSharedDeps extends SettleDeps {
  truth: SharedTruth;
  /** Every entry the local journal holds (for the first host to bring in), oldest first. */
  localHistory: () => Promise<JournalEntry[]>;
}

export interface SettledShared {
  snapshot: Snapshot;
  quarantined: string[];
  staleRefused: string[];
  /**
   * A host that served the account before found legacy writes in its files, made while it was
   * stopped: the files are left as they are, for the first batch to judge and commit like any
   * outside edit (the booking rule, against the shared journal, inside the shared transaction).
   */
  judgeFiles?: true;
}

export async function settleShared(deps: SettleSharedDeps): Promise<SettledShared> {
  const { truth, stores, log } = deps;
  if ((await truth.head()) === null) {
    const others = await truth.otherAccounts();
    if (others.length > 0) {
      log.warn({ account: truth.account, others }, 'the database holds no such account yet, but others: starting it from this folder — if this host should join one of them, stop it and fix ACCOUNT');
    }
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

  // Each file read once: what it holds decides between a join and a restart, and is healed below.
  const states = await Promise.all(stores.map(async (store) => ({ store, state: (await store.read()).state })));
  const restart = await restarting(truth, head, states);
  if (restart === 'legacy writes') {
    log.info({ balance: formatAmount(head.balance), revision: head.revision, host: truth.hostId }, 'this host\'s files hold legacy writes made while it was stopped: judging them like any outside edit');
    return { snapshot: head, quarantined: [], staleRefused: [], judgeFiles: true };
  }

  // Joining: the database's balance goes into the files. A different one here is logged, never sent.
  const quarantined: string[] = [];
  for (const { store, state } of states) {
    if (state.status === 'valid' && state.balance !== head.balance && restart === 'joining') {
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
  log.info({ balance: formatAmount(head.balance), revision: head.revision, host: truth.hostId }, restart === 'joining' ? 'joined the shared balance' : 'caught up with the shared balance');
  return { snapshot: head, quarantined, staleRefused: [] };
}

/**
 * Whether a restarting host's files hold something the booking rule would count: a legacy process
 * booked into them (or set them) while the service was stopped — or while the database was away and
 * the host was then killed. Such a write stays in its file until the database takes it (SPEC), so it
 * is judged as it would have been had the service been running. A host that never served the account
 * is joining instead: its own balance is another folder's, logged and never sent. A file carrying a
 * revision the database has not reached is another history's (a database restored from a backup, say):
 * the database's balance wins, as for a join.
 */
async function restarting(truth: SharedTruth, head: Snapshot, read: readonly { store: BalanceStore; state: FileState }[]): Promise<'joining' | 'legacy writes' | 'behind'> {
  if ((await truth.lastHeard()) === null) return 'joining';
  const valid = read.flatMap(({ store, state }) => (state.status === 'valid' ? [{ file: store.name, state }] : []));
  if (valid.some(({ state }) => state.revision !== null && state.revision > head.revision)) return 'joining';
  for (const { file, state } of valid) {
    const history = state.revision !== null && state.revision < head.revision ? await truth.writeBackHistory(state.revision, file) : null;
    const verdict = judgeLegacyWrite(state, head, { lastWritten: null, history });
    if (verdict.kind !== 'unchanged' && verdict.balance !== head.balance) return 'legacy writes';
  }
  // Its files hold what it last wrote (the account may have moved on since): they only catch up.
  return 'behind';
}
