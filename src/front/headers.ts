// The header fields that cross the service, both ways: every end-to-end field as it came, the fields
// of one connection (RFC 9110 §7.6.1) left behind, and the X-Forwarded-* the legacy backend reads.

import type { IncomingMessage } from 'node:http';
import type { Framing } from './framing.ts';

// Framing is not in this list because it never crosses at all: the service frames what it forwards.
const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'proxy-connection', 'te', 'trailer', 'transfer-encoding', 'upgrade', 'http2-settings']);
// Node answers `Expect: 100-continue` itself; the body is on its way by the time the request goes on.
const NOT_FORWARDED = new Set([...HOP_BY_HOP, 'content-length', 'expect', 'x-request-id']);
const FORWARDED_FOR = ['x-forwarded-for', 'x-forwarded-proto', 'x-forwarded-host'] as const;

/** The fields a Connection field names: hop-by-hop too, so dropped. Never the framing, nor Host. */
function namedByConnection(raw: readonly (string | Buffer)[]): Set<string> {
  const named = new Set<string>();
  for (let i = 0; i + 1 < raw.length; i += 2) {
    if (String(raw[i]).toLowerCase() !== 'connection') continue;
    for (const token of String(raw[i + 1]).split(',')) named.add(token.trim().toLowerCase());
  }
  named.delete('host');
  return named;
}

/**
 * The request's fields for the legacy backend, as a flat [name, value, …] list: duplicates and order
 * kept, the connection's own fields dropped, the body's length the one the service computed (a
 * Content-Length, or none: then the body goes chunked), X-Forwarded-* appended to, X-Request-Id ours.
 */
export function forwardedRequestHeaders(req: IncomingMessage, framing: Framing, requestId: string): string[] {
  const raw = req.rawHeaders;
  const named = req.headers.connection === undefined ? null : namedByConnection(raw);
  const headers: string[] = [];
  const before: Record<(typeof FORWARDED_FOR)[number], string[]> = { 'x-forwarded-for': [], 'x-forwarded-proto': [], 'x-forwarded-host': [] };
  for (let i = 0; i + 1 < raw.length; i += 2) {
    const name = raw[i] as string;
    const key = name.toLowerCase();
    if (NOT_FORWARDED.has(key) || named?.has(key)) continue;
    if (key in before) before[key as keyof typeof before].push(raw[i + 1] as string);
    else headers.push(name, raw[i + 1] as string);
  }
  if (framing.body === 'length') headers.push('content-length', String(framing.length));
  const append = (key: keyof typeof before, value: string | undefined) => {
    const values = value === undefined ? before[key] : [...before[key], value];
    if (values.length > 0) headers.push(key, values.join(','));
  };
  append('x-forwarded-for', req.socket.remoteAddress);
  append('x-forwarded-proto', 'http');
  append('x-forwarded-host', req.headers.host);
  headers.push('x-request-id', requestId);
  return headers;
}

/** The upstream's answer fields for our client, as a flat list; Node frames the body it relays. */
export function relayedResponseHeaders(raw: readonly Buffer[]): string[] {
  const named = namedByConnection(raw);
  const headers: string[] = [];
  for (let i = 0; i + 1 < raw.length; i += 2) {
    const name = (raw[i] as Buffer).toString('latin1');
    const key = name.toLowerCase();
    if (HOP_BY_HOP.has(key) || named.has(key)) continue;
    headers.push(name, (raw[i + 1] as Buffer).toString('latin1'));
  }
  return headers;
}

/** A flat [name, value, …] list without the field `name` (lower case). */
export function withoutField(headers: readonly string[], name: string): string[] {
  const kept: string[] = [];
  for (let i = 0; i + 1 < headers.length; i += 2) if ((headers[i] as string).toLowerCase() !== name) kept.push(headers[i] as string, headers[i + 1] as string);
  return kept;
}
