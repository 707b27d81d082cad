// The paths balance-sync answers itself, whatever the method, and never forwards: one table is both
// the router and the test of ownership, so the two cannot disagree.

import { posix } from 'node:path';
import { Router, type RequestHandler } from 'express';
import { HttpError } from '../domain/errors.ts';

type Handlers = RequestHandler | RequestHandler[];

/** Path → the methods it supports. GET also answers HEAD. */
export type RouteTable = Record<string, { get?: Handlers; post?: Handlers }>;

export class MethodNotAllowedError extends HttpError {
  constructor(method: string, path: string, allow: string) {
    super(405, `${method} is not supported on ${path}; use ${allow}`, { headers: { Allow: allow } });
  }
}

export interface OwnRoutes {
  router: Router;
  /** The URL to route an own request by (see canonicalPath), or null when the path is not the service's. */
  claim(url: string): string | null;
}

/**
 * The router of every own path: `before` (CORS) runs first on each, then the method's handlers, then
 * 405 with `Allow` for any other method. `subtrees` are whole prefixes (the operator page).
 */
export function ownRoutes(table: RouteTable, before: RequestHandler, subtrees: Record<string, Router>): OwnRoutes {
  const router = Router();
  for (const [path, { get, post }] of Object.entries(table)) {
    const allow = [...(get ? ['GET', 'HEAD'] : []), ...(post ? ['POST'] : [])].join(', ');
    const route = router.route(path).all(before);
    if (get) route.get(get);
    if (post) route.post(post);
    route.all((req, _res, next) => next(new MethodNotAllowedError(req.method, path, allow)));
  }
  for (const [prefix, subtree] of Object.entries(subtrees)) router.use(prefix, subtree);

  const exact = new Set(Object.keys(table).map((path) => path.toLowerCase()));
  const prefixes = Object.keys(subtrees).map((prefix) => prefix.toLowerCase());
  return {
    router,
    claim(url) {
      const query = url.indexOf('?');
      const path = canonicalPath(query < 0 ? url : url.slice(0, query));
      const lower = path.toLowerCase();
      const owned = exact.has(lower) || prefixes.some((prefix) => lower === prefix || lower.startsWith(`${prefix}/`));
      return owned ? path + (query < 0 ? '' : url.slice(query)) : null;
    },
  };
}

const PLAIN_PATH = /^(?:\/[\w~-]+)+$/;

/**
 * The path as a server behind us might understand it: percent-escapes decoded, backslashes read as
 * slashes (as the proxy's URL parsing does), dot segments and repeated slashes resolved, no trailing
 * slash. Express matches paths case-insensitively; the legacy backend may also decode or normalize,
 * so `/Virtual_Balance/`, `/virtual%5Fbalance`, `/x\..\balance` and `//x/../virtual_balance` all
 * name the service's own routes and must never reach the upstream.
 */
export function canonicalPath(path: string): string {
  // The common case, on every request: nothing to decode, resolve or trim.
  if (PLAIN_PATH.test(path)) return path;
  let decoded = path;
  try {
    decoded = decodeURIComponent(path);
  } catch {
    // A malformed escape: match on the raw text.
  }
  const normal = posix.normalize(`/${decoded.replaceAll('\\', '/')}`);
  return normal.length > 1 && normal.endsWith('/') ? normal.slice(0, -1) : normal;
}
