// The legacy backend did not answer: 502 (refused, dropped) or 504 (no response headers in time),
// in the envelope, logged at `warn` with the reason — the upstream's failure, not the service's.

import type { ServerResponse } from 'node:http';
import { HttpError } from '../domain/errors.ts';
import { sendError } from '../http/errors.ts';
import { noteFailure } from '../http/request-log.ts';

const WHAT = {
  400: 'the request cannot be forwarded to the legacy backend',
  502: 'the legacy backend could not be reached',
  504: 'the legacy backend did not answer in time',
} as const;

export function failForwarded(res: ServerResponse, status: keyof typeof WHAT, reason: string): void {
  if (res.headersSent || res.destroyed) return void res.destroy();
  const message = `${WHAT[status]} (${reason})`;
  noteFailure(res, 'warn', { upstream: message });
  sendError(res, new HttpError(status, message));
}
