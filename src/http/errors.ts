// Maps every failure to the legacy error envelope; nothing a client sends ever becomes a 500.

import type { ServerResponse } from 'node:http';
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

/** The error envelope, on Node's own response: the one way an error reaches a client. */
export function sendError(res: ServerResponse, error: HttpError): void {
  // The request's log line carries what failed on the service's side.
  if (error.status >= 500) logError(res, error);
  const body: Record<string, unknown> = { status: 'error', message: error.message };
  if (error.details.errors) body.errors = error.details.errors;
  const text = JSON.stringify(body);
  res.writeHead(error.status, {
    ...error.details.headers,
    'Content-Type': 'application/json; charset=utf-8',
    'Content-Length': Buffer.byteLength(text),
  });
  res.end(text);
}

export const errorHandler: ErrorRequestHandler = (error: unknown, _req, res, next) => {
  if (res.headersSent) return next(error);
  const known = error instanceof HttpError ? error : fromBodyParser(error as object);
  if (known) return sendError(res, known);
  // Not a client's doing: the client learns nothing of it but that it failed.
  logError(res, error);
  sendError(res, new HttpError(500, 'internal error'));
};
