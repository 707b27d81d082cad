// The start-up decision: which of the two files (or the journal) holds the true balance.

import { formatAmount, type Amount } from './amount.ts';
import { judgeLegacyWrite } from './booking.ts';
import { judgeWriteBack, mayBeStale, type WriteBackHistory } from './stale-write-back.ts';


/** What one file held when it was read. `revision` is the one the service recorded in it, if any. */
export type FileState =
  | { status: 'missing' }
  | { status: 'corrupt'; reason: string }
  | { status: 'no-balance'; revision: number | null }
  /** A `balance` is there but cannot be read (`"12,000.50"`, an array): never overwritten without a copy. */
  | { status: 'unreadable'; reason: string; revision: number | null }
  | { status: 'valid'; balance: Amount; mtimeMs: number; revision: number | null };

/** The journal's last entry: the change the service last decided on, with its time. */
export interface JournalHead {
  balance: Amount;
  atMs: number;
  revision: number;
}

/** One file's name and what it held. */
export interface NamedState {
  name: string;
  state: FileState;
  /** What the journal knows since the revision recorded in the file; only needed for a possible stale write-back. */
  history?: WriteBackHistory;
}

export interface ReconcileInput {
  /** In order of precedence when times and revisions tie: the balance file first. */
  files: readonly NamedState[];
  journal: JournalHead | null;
  initialBalance: Amount;
  /** The wall clock now: a time further ahead than FUTURE_TOLERANCE_MS is not believed (step 5). */
  nowMs: number;
}

/** Clocks of two machines (a network share) or two moments differ a little; more than this is a clock that ran ahead. */
export const FUTURE_TOLERANCE_MS = 5_000;

export type Decision =
  | { action: 'refuse'; corrupt: string[] }
  | {
      action: 'start';
      balance: Amount;
      /** A file name, `journal` or `initial`. */
      winner: string;
      reason: string;
      /** The revision to serve; one above every recorded revision when the balance is new. */
      revision: number;
      /** The balance differs from the journal's last entry, so start-up itself is a change. */
      isChange: boolean;
      /** Two valid sources held different balances. */
      disagreed: boolean;
      /** Files holding a stale write-back (see stale-write-back.ts): not candidates, their other fields kept. */
      stale: string[];
      /** Sources whose time is in the future: ranked below every source whose time is not. */
      future: { source: string; timeMs: number }[];
      /** The winner is a legacy booking made while the service was stopped: the file and the balance its writer put there. */
      booking?: { file: string; written: Amount };
    };

interface Candidate {
  source: string;
  balance: Amount;
  timeMs: number;
  revision: number;
  rank: number;
  future: boolean;
  /** A legacy booking made while the service was stopped: why its balance is not the file's. */
  booked?: { written: Amount; reason: string };
}

export function reconcile({ files, journal, initialBalance, nowMs }: ReconcileInput): Decision {
  const isFuture = (timeMs: number) => timeMs > nowMs + FUTURE_TOLERANCE_MS;
  const candidates: Candidate[] = [];
  const stale: string[] = [];
  // A journal time in the future cannot order a file's write before or after it: the stale-write-back
  // rule then looks at every file (a file merely behind the journal is rolled forward either way).
  const journalBelieved = journal && { ...journal, atMs: isFuture(journal.atMs) ? -Infinity : journal.atMs };
  for (const [rank, { name, state, history }] of files.entries()) {
    if (state.status !== 'valid') continue;
    // Whole milliseconds, like the journal's times: within one, the revision decides.
    const timeMs = Math.floor(state.mtimeMs);
    const candidate: Candidate = { source: name, balance: state.balance, timeMs, revision: state.revision ?? -1, rank, future: isFuture(timeMs) };
    // Written while the service was stopped, on a revision the journal has moved past: the booking rule,
    // as at run time — a stale copy counts nothing, a booking counts its difference on top.
    const judged = journalBelieved && history && writtenSince(state, journalBelieved) ? judgeLegacyWrite(state, journalBelieved, { lastWritten: null, history }) : null;
    if (judged?.kind === 'unchanged') stale.push(name);
    else if (judged?.kind === 'book') candidates.push({ ...candidate, balance: judged.balance, booked: { written: state.balance, reason: `${name}: a legacy booking made while the service was stopped: ${judged.reason}` } });
    else candidates.push(candidate);
  }
  if (journal) {
    candidates.push({ source: 'journal', balance: journal.balance, timeMs: journal.atMs, revision: journal.revision, rank: files.length, future: isFuture(journal.atMs) });
  }

  const recorded = files.map(({ state }) => ('revision' in state ? (state.revision ?? 0) : 0));
  const baseRevision = Math.max(0, journal?.revision ?? 0, ...recorded);
  const fresh = (balance: Amount) => journal === null || journal.balance !== balance;
  const future = candidates.filter((c) => c.future).map(({ source, timeMs }) => ({ source, timeMs }));

  if (candidates.length === 0) {
    const corrupt = files.filter(({ state }) => state.status === 'corrupt' || state.status === 'unreadable').map(({ name }) => name);
    if (corrupt.length > 0) return { action: 'refuse', corrupt };
    return {
      action: 'start',
      balance: initialBalance,
      winner: 'initial',
      reason: 'no file holds a balance; starting from INITIAL_BALANCE',
      revision: baseRevision + 1,
      isChange: true,
      disagreed: false,
      stale,
      future,
    };
  }

  // A time in the future says only that a clock ran ahead: it ranks below every time that is not.
  const sorted = [...candidates].sort(
    (a, b) => Number(a.future) - Number(b.future) || b.timeMs - a.timeMs || b.revision - a.revision || a.rank - b.rank,
  );
  const winner = sorted[0] as Candidate;
  const runnerUp = sorted.find((c) => c.balance !== winner.balance);
  const isChange = fresh(winner.balance);
  return {
    action: 'start',
    balance: winner.balance,
    winner: winner.source,
    ...(winner.booked && { booking: { file: winner.source, written: winner.booked.written } }),
    reason: explain(winner, runnerUp, candidates.length),
    revision: isChange ? baseRevision + 1 : baseRevision,
    isChange,
    disagreed: runnerUp !== undefined,
    stale,
    future,
  };
}

/**
 * A legacy process wrote the file while the service was stopped, on a copy it had read before the
 * journal's last change. Only a write made after that change counts: a file merely behind the journal
 * (a crash between the journal and the files) is rolled forward, not judged.
 */
const writtenSince = (state: Extract<FileState, { status: 'valid' }>, journal: JournalHead): boolean => state.mtimeMs > journal.atMs && mayBeStale(state, journal);

/** Whether such a write is a stale copy (its difference from what its writer knew is zero). */
export function isStaleWriteBack(state: Extract<FileState, { status: 'valid' }>, journal: JournalHead, history: WriteBackHistory): boolean {
  return writtenSince(state, journal) && judgeWriteBack(state, journal, history).stale;
}

function explain(winner: Candidate, runnerUp: Candidate | undefined, count: number): string {
  if (winner.booked) return winner.booked.reason;
  if (count === 1) return `${winner.source} is the only source with a valid balance`;
  if (!runnerUp) return 'all sources agree';
  const what = `${winner.source} (${formatAmount(winner.balance)}) over ${runnerUp.source} (${formatAmount(runnerUp.balance)})`;
  if (runnerUp.future && !winner.future) return `${what}: ${runnerUp.source}'s time is in the future`;
  if (winner.timeMs !== runnerUp.timeMs) return `${what}: it is newer`;
  if (winner.revision !== runnerUp.revision) return `${what}: equal times, higher revision`;
  return `${what}: equal times and revisions, ${winner.source} takes precedence`;
}
