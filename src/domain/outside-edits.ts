// What other processes did to the files since the service last looked: balances to judge (the
// booking rule), fields to take over, files to heal.

import { formatAmount } from './amount.ts';
import { judgeLegacyWrite } from './booking.ts';
import { adoptExternal, type Snapshot } from './change.ts';
import type { LegacyWrites } from './legacy-writes.ts';
import { asFileFault, type BalanceStore, type JournalEntry, type JournalPort, type Log, type Observation } from './ports.ts';
import type { FileState } from './reconcile.ts';

export interface OutsideEdits {
  /** The balance after every outside write, oldest first. */
  snapshot: Snapshot;
  /** One `external:<file>` entry per balance that changed. */
  entries: JournalEntry[];
  /** The trading state changed on disk (its other fields may have moved). */
  tradingMoved: boolean;
  /** Files whose balance was a stale copy: their other fields were adopted, the balance was not. */
  staleRefused: string[];
  /** Files whose bytes were kept as a `.corrupt-` copy (corrupt, or an unreadable balance). */
  quarantined: string[];
}

export interface OutsideDeps {
  stores: readonly BalanceStore[];
  journal: Pick<JournalPort, 'writeBackHistory'>;
  legacy: LegacyWrites;
  log: Log;
  now: () => number;
}

export type Seen = { store: BalanceStore; observation: Observation; stray: boolean };
type ValidSeen = Seen & { state: Extract<FileState, { status: 'valid' }> };

/** What a look at the files found: the versions other processes wrote, and the copies kept of broken ones. */
export interface FilesSeen {
  seen: Seen[];
  quarantined: string[];
}

export const nothingSeen: FilesSeen = { seen: [], quarantined: [] };

/** Whether a look found a balance that must be judged (and so a change to decide on). */
export const hasOutsideBalance = ({ seen }: FilesSeen): boolean => seen.some(({ observation }) => observation.state.status === 'valid');

/**
 * Reads each file whose fingerprint changed (every file when `rereadAll`) and the writes that landed
 * in versions it had replaced, and keeps copies of files it must overwrite. Missing, corrupt or
 * balance-less files are left for the save that follows to rewrite.
 */
export async function lookAtFiles({ stores, log }: Pick<OutsideDeps, 'stores' | 'log'>, rereadAll: boolean): Promise<FilesSeen> {
  const seen: Seen[] = [];
  const quarantined: string[] = [];
  // Both files at once: this runs on every look at the files, and before a batch that was sent round again.
  const changed = await Promise.all(stores.map((store) => rereadAll || store.hasChanged().catch(asFileFault(store.name))));
  for (const [i, store] of stores.entries()) {
    if (!changed[i]) continue;
    const strays = await store.strayWrites().catch(asFileFault(store.name));
    for (const observation of strays.finished) {
      seen.push({ store, observation, stray: true });
      log.warn({ file: store.name }, 'a write landed in a version of the file the service had replaced (a stalled writer, or one that met a rename): merged like any outside edit');
    }
    for (const copy of strays.kept) {
      quarantined.push(store.name);
      log.error({ file: store.name, copy }, 'a write into a replaced version of the file stayed broken: kept its bytes');
    }
    const observation = await store.read().catch(asFileFault(store.name));
    if (!observation.isOwnWrite) seen.push({ store, observation, stray: false });
  }
  for (const { store, observation: { state }, stray } of seen) {
    if (stray) continue; // its version is not in place: there is nothing to copy or heal
    if (state.status === 'corrupt' || state.status === 'unreadable') {
      const copy = await store.keepCopy().catch(asFileFault(store.name));
      quarantined.push(store.name);
      const what = state.status === 'corrupt' ? 'quarantined a corrupt file; rewriting it from memory' : 'kept a copy of a file whose balance cannot be read; writing the balance back';
      log.error({ file: store.name, reason: state.reason, copy }, what);
    } else if (state.status === 'missing') {
      log.warn({ file: store.name }, 'a file was deleted; re-creating it from memory');
    } else if (state.status === 'no-balance') {
      log.warn({ file: store.name }, 'a file lost its balance; rewriting it');
    }
  }
  return { seen, quarantined };
}

/** What the outside balances a look found do to `current` (the booking rule), and whether the trading state moved. */
export async function judgeOutside(deps: OutsideDeps, current: Snapshot, { seen, quarantined }: FilesSeen): Promise<OutsideEdits> {
  const judged = await judgeBalances(deps, current, seen);
  return { ...judged, tradingMoved: seen.some(({ store }) => store.role === 'trading'), quarantined };
}

/** What a save reports of the outside edits it met: the files adopted, refused, copied, and whether the trading state moved. */
export function outsideReport({ entries, tradingMoved, staleRefused, quarantined }: OutsideEdits) {
  return { tradingMoved, adopted: entries.map((entry) => entry.source.replace(/^external:/, '')), staleRefused, quarantined };
}

/** A look at the files and the judgement of what it found, against this host's own journal. */
export async function observeOutsideEdits(deps: OutsideDeps, current: Snapshot, rereadAll: boolean): Promise<OutsideEdits> {
  return judgeOutside(deps, current, await lookAtFiles(deps, rereadAll));
}

/**
 * Each outside balance through the booking rule, oldest first — but in one look, writes carrying a
 * revision before those without: a seed-era save writes the trading state (read at revision N), then
 * the whole balance file without the service's key, and the first decides.
 */
async function judgeBalances({ stores, journal, legacy, log, now }: OutsideDeps, current: Snapshot, seen: Seen[]) {
  const valid = seen.filter((s): s is ValidSeen => s.observation.state.status === 'valid').map((s) => ({ ...s, state: s.observation.state as ValidSeen['state'] }));
  valid.sort((a, b) => Number(a.state.revision === null) - Number(b.state.revision === null) || a.state.mtimeMs - b.state.mtimeMs);
  const withRevision = new Set(valid.filter((v) => v.state.revision !== null).map((v) => v.store.name));

  let snapshot = current;
  const entries: JournalEntry[] = [];
  const staleRefused: string[] = [];
  for (const { store, state } of valid) {
    const file = store.name;
    const write = { balance: state.balance, revision: state.revision, mtimeMs: state.mtimeMs };
    // Counted already by a batch that committed (a replaced version's write, offered until the file holds it).
    if (legacy.judgedBefore(file, write)) continue;
    // Either order, with or without a revision: the later-written file of one legacy save holds the
    // balance the other was just written with (the seed-era save_virtual_balance() writes the balance
    // file first, in the legacy shape, and the trading state — read at N — after it).
    const twin = legacy.sameSaveAs(file, write) ?? (state.revision === null ? stores.find((s) => s.name !== file && withRevision.has(s.name))?.name : undefined);
    if (twin !== undefined) {
      legacy.record(file, write);
      log.info({ file, balance: formatAmount(state.balance), sameSaveAs: twin }, 'the same legacy save arrived in both files: counted once');
      continue;
    }
    const history = state.revision !== null && state.revision < snapshot.revision ? await journal.writeBackHistory(state.revision, file) : null;
    // (After a restart the memory is empty: the journal's word on what this file last wrote carrying that revision counts.)
    const verdict = judgeLegacyWrite(state, snapshot, { lastWritten: legacy.lastWritten(file, state.revision) ?? history?.lastWritten ?? null, history });
    legacy.record(file, write);
    const details = { file, fileRevision: state.revision, revision: snapshot.revision, fileBalance: formatAmount(state.balance), balance: formatAmount(snapshot.balance) };
    if (verdict.kind === 'unchanged') {
      if (state.balance === snapshot.balance) continue;
      // The file keeps its other fields; the save that follows writes the current balance back into it.
      log.warn({ ...details, reason: verdict.reason }, 'refused a stale write-back: kept the current balance and adopted the other fields');
      staleRefused.push(file);
      continue;
    }
    if (verdict.balance === snapshot.balance) continue;
    const reason = verdict.kind === 'adopt' ? undefined : verdict.reason;
    const adopted = adoptExternal(snapshot, verdict.balance, file, new Date(now()).toISOString(), { reason, written: state.balance, basedOn: state.revision });
    if (verdict.kind === 'adopt') {
      log.info({ ...details, revision: adopted.snapshot.revision, reason: verdict.reason }, 'adopted an outside edit');
    } else {
      const booking = { ...details, basedOn: verdict.basedOn, difference: formatAmount(verdict.difference), knew: formatAmount(verdict.knew), result: formatAmount(verdict.balance) };
      if (verdict.kind === 'book') log.info(booking, 'a legacy booking: its difference applied on top of the current balance');
      else log.warn(booking, 'a legacy booking would take the balance out of range: adopted as written');
    }
    snapshot = adopted.snapshot;
    entries.push(adopted.entry);
  }
  return { snapshot, entries, staleRefused };
}
