// Start-up (and recovery): decide the balance from what the files and the journal hold, and make
// the disk say it — quarantining corrupt files, journaling a new balance, rewriting what disagrees.

import { formatAmount, type Amount } from './amount.ts';
import { toRecord, type Snapshot } from './change.ts';
import { asFileFault, type BalanceStore, type JournalEntry, type JournalPort, type Log } from './ports.ts';
import { FUTURE_TOLERANCE_MS, reconcile, type Decision, type FileState, type NamedState } from './reconcile.ts';
import { mayBeStale } from './stale-write-back.ts';
import { rewrite } from './commit/write-through.ts';
import { StartupRefusedError } from './startup-refused.ts';

export interface SettleDeps {
  stores: readonly BalanceStore[];
  journal: JournalPort;
  syncFolder: () => Promise<void>;
  initialBalance: Amount;
  log: Log;
  now: () => number;
  /** Files whose last write failed: rewritten even if they hold the balance, to see that they can be. */
  faulty?: ReadonlySet<string>;
}

/**
 * What start-up decides from what the files and the journal hold — also what `balance-sync doctor`
 * says it would decide, from the same code: the journal is asked about a file only when that file may
 * be a stale write-back (written after the journal's last change, or any file when that time is in
 * the future, carrying an older revision).
 */
export async function decideStartup<F extends { name: string; state: FileState }>(
  files: readonly F[],
  journal: { head: JournalEntry | null; writeBackHistory: JournalPort['writeBackHistory'] },
  { initialBalance, nowMs }: { initialBalance: Amount; nowMs: number },
): Promise<{ decision: Decision; files: (F & NamedState)[] }> {
  const { head } = journal;
  const headMs = head ? Date.parse(head.at) : 0;
  const judged = await Promise.all(
    files.map(async (file) => {
      const { state } = file;
      const suspect = state.status === 'valid' && head !== null && (state.mtimeMs > headMs || headMs > nowMs + FUTURE_TOLERANCE_MS) && mayBeStale(state, head);
      return { ...file, ...(suspect && { history: await journal.writeBackHistory(state.revision as number, file.name) }) };
    }),
  );
  const decision = reconcile({ files: judged, journal: head && { balance: head.balance, atMs: headMs, revision: head.revision }, initialBalance, nowMs });
  return { decision, files: judged };
}

/** The balance to serve; throws StartupRefusedError, touching nothing, when a corrupt file is all there is. */
export async function settleFromDisk({ stores, journal, syncFolder, initialBalance, log, now }: SettleDeps): Promise<{ snapshot: Snapshot; quarantined: string[]; staleRefused: string[] }> {
  const head = journal.last();
  // A file start-up cannot read at all (a directory in its place) stops it, naming the file.
  const read = await Promise.all(stores.map(async (store) => ({ store, name: store.name, state: (await store.read().catch(asFileFault(store.name))).state })));
  const { decision, files } = await decideStartup(read, { head, writeBackHistory: (revision, file) => journal.writeBackHistory(revision, file) }, { initialBalance, nowMs: now() });
  if (decision.action === 'refuse') {
    throw new StartupRefusedError(files.filter(({ name }) => decision.corrupt.includes(name)).map(({ name, state }) => ({ name, reason: reasonOf(state) })));
  }

  const quarantined: string[] = [];
  for (const { store, state } of files) {
    // A corrupt file, or a balance that cannot be read, is never overwritten without a copy of it.
    if (state.status !== 'corrupt' && state.status !== 'unreadable') continue;
    const copy = await store.keepCopy();
    quarantined.push(store.name);
    log.error({ file: store.name, reason: state.reason, copy }, state.status === 'corrupt' ? 'quarantined a corrupt file' : 'kept a copy of a file whose balance cannot be read');
  }
  for (const { name, state } of files.filter(({ name }) => decision.stale.includes(name))) {
    if (state.status !== 'valid' || !head) continue;
    log.warn(
      { file: name, fileRevision: state.revision, revision: head.revision, fileBalance: formatAmount(state.balance), balance: formatAmount(head.balance) },
      'refused a stale write-back made while the service was stopped: kept the current balance and the file\'s other fields',
    );
  }
  // The files carry revisions this service wrote, yet the journal holds none: it was deleted while the
  // service was stopped (or in the second before a kill -9). The balance is still the files'; the
  // Idempotency-Keys it acknowledged are gone — a client that retries one would have it applied again.
  const carried = Math.max(0, ...files.map(({ state }) => (state.status === 'valid' ? (state.revision ?? 0) : 0)));
  if (!head && carried > 0) {
    log.error({ file: 'balance_journal.jsonl', revision: carried }, 'the journal is missing although the files carry revision ' + carried + ': the balance is kept, but Idempotency-Keys acknowledged before are not remembered');
  }
  for (const { source, timeMs } of decision.future) {
    log.warn({ source, time: new Date(timeMs).toISOString(), now: new Date(now()).toISOString() }, `${source} has a time in the future: it ranks below every source whose time is not`);
  }
  if (decision.disagreed) {
    const described = Object.fromEntries(files.map(({ name, state }) => [name, describe(state)]));
    const fromJournal = head && { balance: formatAmount(head.balance), at: head.at };
    log.warn({ ...described, journal: fromJournal, winner: decision.winner, reason: decision.reason }, 'the files disagreed at start-up');
  }
  if (decision.winner === 'journal' && stores.some((store) => store.lastSeen().balance !== decision.balance)) {
    log.warn({ balance: formatAmount(decision.balance), revision: decision.revision, at: head?.at }, 'restored the balance from the journal');
  }

  const at = new Date(now()).toISOString();
  const snapshot: Snapshot = { balance: decision.balance, revision: decision.revision, updatedAt: decision.isChange || !head ? at : head.at };
  if (decision.isChange) {
    // A booking made while stopped is journaled as the outside edit it is, so an echo of it is known later.
    const source = decision.booking ? `external:${decision.booking.file}` : 'startup';
    const entry: JournalEntry = { revision: snapshot.revision, at, balance: snapshot.balance, previous: head?.balance ?? null, source, reason: decision.reason.slice(0, 200) };
    if (decision.booking && decision.booking.written !== snapshot.balance) entry.written = decision.booking.written;
    await journal.append([entry]);
  }
  // Both files, always: a file's future mtime must not outlive this start and win the next one (and a
  // file whose write failed is seen to work again).
  await rewrite(stores, toRecord(snapshot));
  await syncFolder();
  log.info({ balance: formatAmount(snapshot.balance), revision: snapshot.revision, winner: decision.winner, reason: decision.reason }, 'balance reconciled');
  return { snapshot, quarantined, staleRefused: decision.stale };
}

const reasonOf = (state: FileState) => (state.status === 'corrupt' || state.status === 'unreadable' ? state.reason : 'unreadable');

function describe(state: FileState) {
  return state.status === 'valid'
    ? { balance: formatAmount(state.balance), mtime: new Date(state.mtimeMs).toISOString(), revision: state.revision }
    : { status: state.status };
}
