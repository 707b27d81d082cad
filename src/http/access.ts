// Who may call what: the bearer token for changes, and CORS for browsers.

import { createHash, timingSafeEqual } from 'node:crypto';
import type { RequestHandler } from 'express';
import { UnauthorizedError } from './errors.ts';

const digest = (text: string) => createHash('sha256').update(text).digest();

/** Requires `Authorization: Bearer <token>`; compares digests in constant time. */
export function requireBearer(token: string | undefined): RequestHandler {
  if (!token) return (_req, _res, next) => next();
  const expected = digest(token);
  return (req, _res, next) => {
    const match = /^Bearer[ ]+(.+)$/i.exec(req.get('authorization') ?? '');
    const given = match?.[1]?.trim();
    next(given && timingSafeEqual(digest(given), expected) ? undefined : new UnauthorizedError());
  };
}

const ALLOWED_HEADERS = 'Content-Type, Authorization, If-Match, If-None-Match, Idempotency-Key, X-Request-Id';
const EXPOSED_HEADERS = 'ETag, X-Request-Id, Idempotency-Replayed, Retry-After';

/** CORS for exactly the configured origins (or `*`); without configuration, no CORS headers at all. */
export function cors(origins: readonly string[] | undefined): RequestHandler {
  if (!origins || origins.length === 0) return (_req, _res, next) => next();
  const any = origins.includes('*');
  return (req, res, next) => {
    const origin = req.get('origin');
    res.vary('Origin');
    if (!origin || !(any || origins.includes(origin))) return next();
    res.set({ 'Access-Control-Allow-Origin': any ? '*' : origin, 'Access-Control-Expose-Headers': EXPOSED_HEADERS });
    if (req.method === 'OPTIONS' && req.get('access-control-request-method')) {
      res.set({ 'Access-Control-Allow-Methods': 'GET, POST, OPTIONS', 'Access-Control-Allow-Headers': ALLOWED_HEADERS, 'Access-Control-Max-Age': '600' });
      res.status(204).end();
      return;
    }
    next();
  };
}
