// One log line per request, with a request id, at a level that fits what happened. Built on pino
// directly: pino-http binds a child logger per request even when the line is filtered out, which
// measured a quarter of the polled read path.

import type { IncomingMessage, ServerResponse } from 'node:http';
import type { RequestHandler } from 'express';
import type { Level, Logger } from 'pino';
import { requestIdOf } from './request-id.ts';

type Failure = { error: unknown } | { level: Level; fields: Record<string, unknown> };

const failures = new WeakMap<ServerResponse, Failure>();

/** Where a failure on the service's side is left for the request's log line. */
export const logError = (res: ServerResponse, error: unknown) => {
  if (!failures.has(res)) failures.set(res, { error });
};

/**
 * A failure that is not the service's own (the legacy backend down, say): logged at `level` with
 * `fields` that say why, not with a stack trace.
 */
export const noteFailure = (res: ServerResponse, level: Level, fields: Record<string, unknown>) => {
  failures.set(res, { level, fields });
};

function levelOf(method: string, status: number, failure: Failure | undefined): Level {
  if (failure && 'level' in failure) return failure.level;
  if (failure !== undefined || status >= 500) return 'error';
  if (status >= 400) return 'warn';
  // A sidebar polls every 2 s: successful reads are noise at info.
  return method === 'GET' || method === 'HEAD' || method === 'OPTIONS' ? 'debug' : 'info';
}

/**
 * Starts the log line of a request (on Node's own request and response, so forwarded requests need no
 * Express): gives it its id, echoed as X-Request-Id, and writes the line once the answer closes.
 */
export function requestLogger(logger: Logger): (req: IncomingMessage, res: ServerResponse, url: string, echo?: boolean) => string {
  // `echo` false: the caller writes X-Request-Id with the rest of the head (a relayed answer, written whole).
  return (req, res, url, echo = true) => {
    const id = requestIdOf(req.headers);
    if (echo) res.setHeader('X-Request-Id', id);
    const started = performance.now();
    const method = req.method ?? 'GET';
    // `close`, not `finish`: a client that goes away mid-answer (a long forwarded download) is logged too.
    res.once('close', () => {
      const failure = failures.get(res);
      const level = levelOf(method, res.statusCode, failure);
      if (!logger.isLevelEnabled(level)) return;
      logger[level](
        {
          req: { id, method, url },
          res: { statusCode: res.statusCode },
          ...(!res.writableFinished && { aborted: true }),
          responseTime: Math.round(performance.now() - started),
          ...(failure && ('level' in failure ? failure.fields : { err: failure.error })),
        },
        `${method} ${url} ${res.statusCode}`,
      );
    });
    return id;
  };
}

/** The same, for the Express app's own routes. */
export function requestLog(logger: Logger): RequestHandler {
  const begin = requestLogger(logger);
  return (req, res, next) => {
    begin(req, res, req.originalUrl);
    next();
  };
}
