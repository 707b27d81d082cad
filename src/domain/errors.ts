// Expected failures as values the HTTP layer can map: each carries its status code.

export interface FieldError {
  path: string;
  message: string;
}

export class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly details: { errors?: FieldError[]; headers?: Record<string, string> } = {},
  ) {
    super(message);
    this.name = new.target.name;
  }
}

export class ValidationError extends HttpError {
  constructor(message: string, errors: FieldError[]) {
    super(400, message, { errors });
  }
}

/** A delta that would take the balance below 0 or above the maximum: the change conflicts with the balance. */
export class BalanceOutOfRangeError extends HttpError {
  constructor(message: string) {
    super(409, message);
  }
}

export class PreconditionFailedError extends HttpError {
  constructor() {
    super(412, 'the balance has changed since that ETag; read it again and retry');
  }
}

export class IdempotencyConflictError extends HttpError {
  constructor() {
    super(422, 'this Idempotency-Key was already used with a different request body');
  }
}

export class StorageUnavailableError extends HttpError {
  constructor(message = 'the balance could not be saved; nothing changed, try again') {
    super(503, message, { headers: { 'Retry-After': '1' } });
  }
}

/** No consistent balance is served right now: the files (or the shared truth) are being read again. */
export const recovering = () => new StorageUnavailableError('the balance is being recovered from disk; try again');
