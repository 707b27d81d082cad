// Who may call what: the bearer token for changes, and CORS for browsers.

import { createHash, timingSafeEqual } from 'node:crypto';
import type { RequestHandler } from 'express';
import { HttpError } from '../domain/errors.ts';
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

const CHANGE_METHODS_EXEMPT = new Set(['GET', 'HEAD', 'OPTIONS']);

// What a Host field may hold (RFC 9110 §7.2: a name or address and a port). Anything else (`a@b`,
// a path) would let URL parsing read another host into it than the one the browser meant.
const HOST_FIELD = /^[a-z0-9.\-]+(:\d{1,5})?$|^\[[0-9a-f:.]+\](:\d{1,5})?$/i;

/** A Host field's host part (name and port, default port dropped, lower case), or null. */
function hostOf(scheme: string, host: string): string | null {
  return HOST_FIELD.test(host) && URL.canParse(`${scheme}//${host}`) ? new URL(`${scheme}//${host}`).host : null;
}

/** Whether `origin` is the service itself as this request reached it: the same host, by http or https. */
function isOwnOrigin(origin: string, host: string | undefined): boolean {
  if (host === undefined || !URL.canParse(origin)) return false;
  const { protocol, host: originHost } = new URL(origin);
  return (protocol === 'http:' || protocol === 'https:') && originHost === hostOf(protocol, host);
}

/**
 * No cross-site writes. A page of another origin can make a browser send a change without asking
 * first (a no-cors fetch, a text/plain form, sendBeacon), and the service reads any body as JSON; the
 * browser always says where such a request comes from, in Origin. A change that names an origin
 * other than the service's own or one of CORS_ORIGINS is refused, token or not. Clients that send no
 * Origin (curl, scripts, servers) are not browsers and are not affected.
 */
export function refuseCrossSiteChanges(origins: readonly string[] | undefined): RequestHandler {
  const allowed = new Set(origins);
  return (req, _res, next) => {
    const origin = req.headers.origin;
    if (origin === undefined || CHANGE_METHODS_EXEMPT.has(req.method) || allowed.has('*') || allowed.has(origin) || isOwnOrigin(origin, req.headers.host)) return next();
    next(new HttpError(403, `a change from another origin (${origin}) is refused; list that origin in CORS_ORIGINS to allow it`));
  };
}

/** Whether a Host field names this machine: localhost and *.localhost, 127.0.0.0/8, ::1. */
export function isLoopbackHost(host: string): boolean {
  const name = hostOf('http:', host)?.replace(/:\d+$/, '');
  return name !== undefined && (name === 'localhost' || name.endsWith('.localhost') || name === '[::1]' || /^127(\.\d{1,3}){3}$/.test(name));
}

/**
 * No rebound names. While the service listens on loopback only, a browser reaches it under another
 * name only when that name's DNS was pointed at 127.0.0.1 (DNS rebinding): a page of that name could
 * then read the balance as same-origin. Own routes asked for under such a name are 421.
 */
export function loopbackNamesOnly(listeningOnLoopback: boolean): RequestHandler {
  if (!listeningOnLoopback) return (_req, _res, next) => next();
  return (req, _res, next) => {
    const host = req.headers.host;
    // A request without Host (HTTP/1.0) does not come from a browser.
    if (host === undefined || isLoopbackHost(host)) return next();
    next(new HttpError(421, `this service answers under a loopback name only (localhost, 127.0.0.1), not ${host}`));
  };
}
