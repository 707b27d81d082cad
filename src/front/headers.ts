// The header fields that cross the service, both ways: every end-to-end field as it came, the fields
// of one connection (RFC 9110 §7.6.1) left behind, and the X-Forwarded-* the legacy backend reads.

import type { IncomingMessage } from 'node:http';
import type { Framing } from './framing.ts';

// Framing is not in this list because it never crosses at all: the service frames what it forwards.
const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'proxy-connection', 'te', 'trailer', 'transfer-encoding', 'upgrade', 'http2-settings']);
// Node answers `Expect: 100-continue` itself; the body is on its way by the time the request goes on.
// A client's X-Forwarded-Proto and -Host are dropped: the service sets what it saw.
const NOT_FORWARDED = new Set([...HOP_BY_HOP, 'content-length', 'expect', 'x-request-id', 'x-forwarded-proto', 'x-forwarded-host']);

/**
 * `Transfer_Encoding`, `Content.Length`: not the framing to Node, but a gateway that maps `_` (CGI,
 * WSGI) or punctuation to `-` could take them for it. They never cross (nginx drops every name with
 * an underscore by default; only these are dropped here).
 */
function looksLikeFraming(key: string): boolean {
  return /[_.]/.test(key) && FRAMING_LOOK_ALIKES.has(key.replace(/[_.]/g, '-'));
}
const FRAMING_LOOK_ALIKES = new Set([...HOP_BY_HOP, 'content-length', 'host', 'expect']);

/** The fields a Connection field names: hop-by-hop too, so dropped. Never the framing, nor Host. */
function namedByConnection(connection: string | undefined): Set<string> | null {
  if (connection === undefined) return null;
  const named = new Set(connection.split(',').map((token) => token.trim().toLowerCase()));
  named.delete('host');
  return named;
}

/**
 * The request's fields for the legacy backend, as a flat [name, value, …] list: duplicates and order
 * kept, the connection's own fields dropped, the body's length the one the service computed (a
 * Content-Length, or none: then the body goes chunked), X-Forwarded-For appended to, X-Forwarded-Proto
 * and -Host and X-Request-Id the service's own.
 */
export function forwardedRequestHeaders(req: IncomingMessage, framing: Framing, requestId: string): string[] {
  const raw = req.rawHeaders;
  // Node joins every Connection field of the request into one.
  const named = namedByConnection(req.headers.connection);
  const headers: string[] = [];
  const forwardedFor: string[] = [];
  for (let i = 0; i + 1 < raw.length; i += 2) {
    const name = raw[i] as string;
    const key = name.toLowerCase();
    if (NOT_FORWARDED.has(key) || named?.has(key) || looksLikeFraming(key)) continue;
    if (key === 'x-forwarded-for') forwardedFor.push(raw[i + 1] as string);
    else headers.push(name, raw[i + 1] as string);
  }
  if (framing.body === 'length') headers.push('content-length', String(framing.length));
  if (req.socket.remoteAddress !== undefined) forwardedFor.push(req.socket.remoteAddress);
  if (forwardedFor.length > 0) headers.push('x-forwarded-for', forwardedFor.join(','));
  // How the request reached this service, which is the first hop: a client's own claims are not kept.
  headers.push('x-forwarded-proto', 'http');
  if (req.headers.host !== undefined) headers.push('x-forwarded-host', req.headers.host);
  headers.push('x-request-id', requestId);
  return headers;
}

/**
 * The upstream's answer fields for our client, as a flat list; Node frames the body it relays. Its
 * X-Request-Id is left out: the service's own (the one it forwarded) goes with the answer.
 */
export function relayedResponseHeaders(raw: readonly Buffer[]): string[] {
  const headers: string[] = [];
  let named: Set<string> | null = null;
  for (let i = 0; i + 1 < raw.length; i += 2) {
    const name = (raw[i] as Buffer).toString('latin1');
    const key = name.toLowerCase();
    const value = (raw[i + 1] as Buffer).toString('latin1');
    if (key === 'connection') for (const token of value.split(',')) (named ??= new Set()).add(token.trim().toLowerCase());
    if (HOP_BY_HOP.has(key) || key === 'x-request-id') continue;
    headers.push(name, value);
  }
  return named === null ? headers : withoutFields(headers, named);
}

/** A flat [name, value, …] list without the fields `names` (lower case). */
export function withoutFields(headers: readonly string[], names: ReadonlySet<string>): string[] {
  const kept: string[] = [];
  for (let i = 0; i + 1 < headers.length; i += 2) if (!names.has((headers[i] as string).toLowerCase())) kept.push(headers[i] as string, headers[i + 1] as string);
  return kept;
}
