// Maps every failure to the legacy error envelope; nothing a client sends ever becomes a 500.

import type { ErrorRequestHandler, RequestHandler } from 'express';
import { z } from 'zod';
import { HttpError, ValidationError, type FieldError } from '../domain/errors.ts';
import { logError } from './request-log.ts';

export class NotFoundError extends HttpError {
  constructor(method: string, path: string) {
    super(404, `no route for ${method} ${path}`);
  }
}

export class UnauthorizedError extends HttpError {
  constructor() {
    super(401, 'a valid bearer token is required', { headers: { 'WWW-Authenticate': 'Bearer realm="balance-sync"' } });
  }
}

export const fromZod = (error: z.ZodError, what: string): ValidationError => {
  const errors: FieldError[] = error.issues.map((issue) => ({
    path: issue.path.map(String).join('.'),
    message: issue.path.length === 0 && issue.code === 'invalid_type' ? `${what} must be a JSON object` : issue.message,
  }));
  return new ValidationError(`invalid ${what}: ${errors.map((e) => (e.path ? `${e.path} ${e.message}` : e.message)).join('; ')}`, errors);
};

/** body-parser's own errors carry a `type`; these are the client's fault. */
function fromBodyParser(error: { type?: unknown; status?: unknown }): HttpError | null {
  switch (error.type) {
    case 'entity.too.large':
      return new HttpError(413, 'the request body is larger than 16 KiB');
    case 'entity.parse.failed':
      return new ValidationError('the request body is not valid JSON', [{ path: '', message: 'must be valid JSON' }]);
    case 'encoding.unsupported':
    case 'charset.unsupported':
      return new HttpError(415, 'the request body must be UTF-8 JSON');
    default:
      return typeof error.status === 'number' && error.status >= 400 && error.status < 500
        ? new HttpError(error.status, 'the request could not be read')
        : null;
  }
}

export const notFound: RequestHandler = (req, _res, next) => next(new NotFoundError(req.method, req.path));

export const errorHandler: ErrorRequestHandler = (error: unknown, _req, res, next) => {
  if (res.headersSent) return next(error);
  const known = error instanceof HttpError ? error : fromBodyParser(error as object);
  const status = known?.status ?? 500;
  // The request's log line carries the error; the client sees the message only for its own errors.
  if (!known || status >= 500) logError(res, error);
  res.status(status).set(known?.details.headers ?? {}).type('application/json');
  const body: Record<string, unknown> = { status: 'error', message: known?.message ?? 'internal error' };
  if (known?.details.errors) body.errors = known.details.errors;
  res.send(JSON.stringify(body));
};
