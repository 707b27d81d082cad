// The legacy backend did not answer: 502 (refused, dropped) or 504 (no response headers in time).

import { HttpError } from '../domain/errors.ts';

/** Logged at `warn` with the request id and the reason: the upstream's failure, not the service's. */
export class UpstreamError extends HttpError {
  constructor(status: 502 | 504, reason: string) {
    super(status, `${status === 504 ? 'the legacy backend did not answer in time' : 'the legacy backend could not be reached'} (${reason})`);
  }
}
