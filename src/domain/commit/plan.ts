// What a batch of queued requests does to the balance, decided before anything is written: pure.

import type { Amount } from '../amount.ts';
import { applyChange, type ChangeRequest, type Snapshot } from '../change.ts';
import { HttpError, IdempotencyConflictError } from '../errors.ts';
import type { JournalEntry } from '../ports.ts';

/** An acknowledged Idempotency-Key: the body it came with and the balance it produced. */
export interface Remembered {
  requestHash: string;
  snapshot: Snapshot;
}

export type Outcome<Job> =
  | { job: Job; snapshot: Snapshot; replayed: boolean; requestHash?: string }
  | { job: Job; error: HttpError };

export interface Plan<Job> {
  /** The balance after every request that applies, in queue order. */
  snapshot: Snapshot;
  /** One entry per applied request. */
  entries: JournalEntry[];
  /** One per job, in queue order. */
  outcomes: Outcome<Job>[];
}

/**
 * Applies each request to the balance left by the one before it. A repeated Idempotency-Key (from an
 * earlier batch or this one) answers what it answered the first time, or 422 with another body; a
 * request the balance refuses (412, 409) fails alone and the others still apply.
 */
export function planBatch<Job extends { request: ChangeRequest }>(
  current: Snapshot,
  jobs: readonly Job[],
  context: { initialBalance: Amount; at: string; remembered: (key: string) => Remembered | undefined },
): Plan<Job> {
  let snapshot = current;
  const entries: JournalEntry[] = [];
  const outcomes: Outcome<Job>[] = [];
  const inBatch = new Map<string, Remembered>();
  for (const job of jobs) {
    const idempotency = job.request.idempotency;
    const earlier = idempotency && (inBatch.get(idempotency.key) ?? context.remembered(idempotency.key));
    if (idempotency && earlier) {
      outcomes.push(
        earlier.requestHash === idempotency.requestHash
          ? { job, snapshot: earlier.snapshot, replayed: true }
          : { job, error: new IdempotencyConflictError() },
      );
      continue;
    }
    try {
      const change = applyChange(snapshot, job.request, context);
      snapshot = change.snapshot;
      entries.push(change.entry);
      outcomes.push({ job, snapshot, replayed: false, ...(idempotency && { requestHash: idempotency.requestHash }) });
      if (idempotency) inBatch.set(idempotency.key, { requestHash: idempotency.requestHash, snapshot });
    } catch (error) {
      if (!(error instanceof HttpError)) throw error;
      outcomes.push({ job, error });
    }
  }
  return { snapshot, entries, outcomes };
}
