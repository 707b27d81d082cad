// Committing a batch with a deadline: conflicts tried again, a lost COMMIT looked up, never applied twice.

import type pg from 'pg';
import type { Log } from '../../domain/ports.ts';
import { connectWithin, isConflict, isLinkFailure, sever } from './connection.ts';
import { AccountMissingError, CommitOutcomeUnknownError, PostgresUnavailableError } from './errors.ts';
import type { Scope } from './journal-reads.ts';
import { outcomeOf } from './outcome.ts';
import type { Reachability } from './reachability.ts';
import { DecideFailed, tryCommit, type Batch, type Decide, type Decision } from './commit-transaction.ts';

export interface CommitCounters {
  /** Batches that wrote something. */
  committed: number;
  /** Tries given up for a conflict (serialization failure, deadlock, the account moved) and made again. */
  conflictsRetried: number;
  /** Tries whose connection was lost (dropped, killed, timed out), before or after COMMIT. */
  connectionsLost: number;
  /** Lost COMMIT answers looked up by commit id, found applied or absent. */
  outcomesResolved: number;
}

export interface CommitDeps {
  pool: pg.Pool;
  scope: Scope;
  reachability: Reachability;
  log: Log;
  /** A commit gives up by then (503); a lost COMMIT is then looked up for at most OUTCOME_MIN_MS more. */
  timeoutMs: number;
  counters: CommitCounters;
}

/** Time kept for asking about a lost COMMIT even when the commit's own time has run out. */
const OUTCOME_MIN_MS = 1_000;
/** Between two tries at asking. */
const ASK_AGAIN_MS = 100;

/**
 * Commits `decide`'s decision and returns it. Throws PostgresUnavailableError when nothing was applied
 * (the database unreachable or too slow), CommitOutcomeUnknownError when COMMIT was sent and the
 * database could not be asked in time whether it happened, and decide's own errors as they are.
 */
export async function commitBatch<D extends Decision>(deps: CommitDeps, batch: Batch, decide: Decide<D>): Promise<D> {
  const deadline = Math.min(performance.now(), batch.queuedAt ?? Infinity) + deps.timeoutMs;
  for (;;) {
    const left = deadline - performance.now();
    if (left <= 0) throw new PostgresUnavailableError(`no commit within ${deps.timeoutMs} ms`);
    let client: pg.PoolClient;
    try {
      client = await connectWithin(deps.pool, left);
    } catch (error) {
      // Refused or not answering: say so at once rather than spend the client's time retrying.
      deps.reachability.suspect();
      throw error;
    }
    // A statement that hangs (a server gone silent, a lock held by a vanished host) ends with the
    // connection when the time is up: the next step is then decided like any lost connection.
    const timer = setTimeout(() => sever(client), left);
    const progress: { commitSent: boolean; decision?: D } = { commitSent: false };
    try {
      const tried = await tryCommit(client, deps.scope, batch, decide, progress);
      client.release();
      if (tried.kind === 'done') {
        if (tried.decision.entries.length > 0) deps.counters.committed += 1;
        return tried.decision;
      }
      deps.counters.conflictsRetried += 1;
      deps.log.warn({ commitId: batch.commitId }, 'the account moved under its lock; trying the batch again');
    } catch (error) {
      // A connection whose transaction failed is not handed to anyone else: the server rolls back as it goes.
      client.release(true);
      if (error instanceof DecideFailed) throw error.error;
      if (error instanceof AccountMissingError) throw error;
      if (isConflict(error)) {
        deps.counters.conflictsRetried += 1;
        continue;
      }
      if (!isLinkFailure(error)) throw error;
      deps.counters.connectionsLost += 1;
      deps.reachability.suspect();
      if (progress.commitSent) {
        const applied = await resolve(deps, batch.commitId, progress.decision as D, deadline, error);
        if (applied) return applied;
      }
      deps.log.info({ commitId: batch.commitId, err: error }, 'the connection was lost before the batch committed; trying again');
    } finally {
      clearTimeout(timer);
    }
  }
}

/**
 * The decision if the lost COMMIT happened, undefined if it did not (try again); throws if nobody can
 * tell in time. Asked again while time is left: the connection asking can be lost too.
 */
async function resolve<D>(deps: CommitDeps, commitId: string, decision: D, deadline: number, lost: unknown): Promise<D | undefined> {
  const until = Math.max(deadline, performance.now() + OUTCOME_MIN_MS);
  let outcome;
  for (;;) {
    try {
      outcome = await outcomeOf(deps.pool, deps.scope.account, commitId, until - performance.now());
      break;
    } catch (error) {
      if (until - performance.now() > ASK_AGAIN_MS) {
        await new Promise((resolve) => setTimeout(resolve, ASK_AGAIN_MS));
        continue;
      }
      deps.log.warn({ commitId, err: error }, 'the answer to a COMMIT was lost and the database cannot be asked yet; the outcome is unknown');
      throw new CommitOutcomeUnknownError(commitId, decision, lost);
    }
  }
  deps.counters.outcomesResolved += 1;
  deps.log.info({ commitId, outcome }, 'the answer to a COMMIT was lost; looked it up by its id');
  if (outcome === 'absent') return undefined;
  deps.counters.committed += 1;
  return decision;
}
