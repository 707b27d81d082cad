// One log line per request, with a request id, at a level that fits what happened. Built on pino
// directly: pino-http binds a child logger per request even when the line is filtered out, which
// measured a quarter of the polled read path.

import type { RequestHandler, Response } from 'express';
import type { Level, Logger } from 'pino';
import { UpstreamError } from './forward.ts';
import { requestIdOf } from './request-id.ts';

/** Where the error handler leaves an unexpected error for the request's log line. */
export const logError = (res: Response, error: unknown) => {
  res.locals.error = error;
};

function levelOf(method: string, status: number, error: unknown): Level {
  // The legacy backend being down is worth a look, not an alarm about balance-sync itself.
  if (error instanceof UpstreamError) return 'warn';
  if (error !== undefined || status >= 500) return 'error';
  if (status >= 400) return 'warn';
  // A sidebar polls every 2 s: successful reads are noise at info.
  return method === 'GET' || method === 'HEAD' || method === 'OPTIONS' ? 'debug' : 'info';
}

export function requestLog(logger: Logger): RequestHandler {
  return (req, res, next) => {
    const id = requestIdOf(req.headers);
    res.setHeader('X-Request-Id', id);
    const started = performance.now();
    // `close`, not `finish`: a client that goes away mid-answer (a long forwarded download) is logged too.
    res.once('close', () => {
      const error = res.locals.error as Error | undefined;
      const level = levelOf(req.method, res.statusCode, error);
      if (!logger.isLevelEnabled(level)) return;
      logger[level](
        {
          req: { id, method: req.method, url: req.originalUrl },
          res: { statusCode: res.statusCode },
          ...(!res.writableFinished && { aborted: true }),
          responseTime: Math.round(performance.now() - started),
          // An unreachable upstream needs its reason, not a stack trace of the proxy.
          ...(error instanceof UpstreamError ? { upstream: error.message } : error && { err: error }),
        },
        `${req.method} ${req.originalUrl} ${res.statusCode}`,
      );
    });
    next();
  };
}
