// One log line per request, with a request id, at a level that fits what happened. Built on pino
// directly: pino-http binds a child logger per request even when the line is filtered out, which
// measured a quarter of the polled read path.

import { randomUUID } from 'node:crypto';
import type { RequestHandler, Response } from 'express';
import type { Level, Logger } from 'pino';

const CLIENT_ID = /^[\x21-\x7e]{1,200}$/;

/** Where the error handler leaves an unexpected error for the request's log line. */
export const logError = (res: Response, error: unknown) => {
  res.locals.error = error;
};

function levelOf(method: string, status: number, failed: boolean): Level {
  if (failed || status >= 500) return 'error';
  if (status >= 400) return 'warn';
  // A sidebar polls every 2 s: successful reads are noise at info.
  return method === 'GET' || method === 'HEAD' || method === 'OPTIONS' ? 'debug' : 'info';
}

export function requestLog(logger: Logger): RequestHandler {
  return (req, res, next) => {
    const given = req.headers['x-request-id'];
    const id = typeof given === 'string' && CLIENT_ID.test(given) ? given : randomUUID();
    res.setHeader('X-Request-Id', id);
    const started = performance.now();
    res.once('finish', () => {
      const error = res.locals.error as Error | undefined;
      const level = levelOf(req.method, res.statusCode, error !== undefined);
      if (!logger.isLevelEnabled(level)) return;
      logger[level](
        {
          req: { id, method: req.method, url: req.originalUrl },
          res: { statusCode: res.statusCode },
          responseTime: Math.round(performance.now() - started),
          ...(error && { err: error }),
        },
        `${req.method} ${req.originalUrl} ${res.statusCode}`,
      );
    });
    next();
  };
}
