// What can go wrong with the shared truth, as values the caller can tell apart.

import { StorageUnavailableError } from '../../domain/errors.ts';

/** The database could not be reached or did not answer in time; nothing was applied (503). */
export class PostgresUnavailableError extends StorageUnavailableError {
  constructor(message: string, override readonly cause?: unknown) {
    super(`the balance database cannot be reached: ${message}; nothing changed, try again`);
  }
}

/**
 * The connection was lost after COMMIT was sent and the database could not be asked in time whether
 * it happened. Not a failure: the change may well be applied. `outcomeOf(commitId)` tells, once the
 * database answers; `decision` is what was being committed, the answer to give if it was.
 */
export class CommitOutcomeUnknownError<Decision = unknown> extends StorageUnavailableError {
  constructor(
    readonly commitId: string,
    readonly decision: Decision,
    override readonly cause?: unknown,
  ) {
    super('the connection to the balance database was lost while committing, and whether the change was saved is not known yet; sent again with the same Idempotency-Key, it gets its answer');
  }
}

/** The database does not hold the account: the first host imports it before anything commits. */
export class AccountMissingError extends Error {
  constructor(readonly account: string) {
    super(`the database holds no account named ${JSON.stringify(account)}; import it first`);
    this.name = 'AccountMissingError';
  }
}
