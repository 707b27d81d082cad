// How a client framed its request (RFC 9112 §6), judged from the raw header lines before anything is
// answered or forwarded: the one place where a framing the service and a server behind it could
// read differently is refused.

import { HttpError } from '../domain/errors.ts';

/** The body as Node's parser has read it: none, exactly `length` bytes, or chunked. */
export type Framing = { body: 'none' } | { body: 'length'; length: number } | { body: 'chunked' };

/** A request whose length two parsers could disagree on: answered, never forwarded, connection closed. */
export class AmbiguousFramingError extends HttpError {
  constructor(message: string, status: 400 | 501 = 400) {
    super(status, message, { headers: { Connection: 'close' } });
  }
}

const DIGITS = /^\d{1,15}$/;

/**
 * Node's parser already refuses most of these (CL with TE, a malformed length); the service does not
 * rely on that: a parser option, a Node release or the lenient flags would change it silently. A
 * request that passes here has exactly one reading, and it is the one Node used to deliver its body.
 * Also refused: several Host fields (RFC 9112 §3.2), which name no one server.
 */
export function framingOf(rawHeaders: readonly string[]): Framing | AmbiguousFramingError {
  const lengths: string[] = [];
  const codings: string[] = [];
  let hosts = 0;
  for (let i = 0; i + 1 < rawHeaders.length; i += 2) {
    const name = (rawHeaders[i] as string).toLowerCase();
    const value = rawHeaders[i + 1] as string;
    if (name === 'content-length') lengths.push(value.trim());
    else if (name === 'transfer-encoding') codings.push(...value.split(',').map((coding) => coding.trim().toLowerCase()));
    else if (name === 'host') hosts++;
  }
  if (hosts > 1) return new AmbiguousFramingError('the request has more than one Host field');
  if (lengths.length > 0 && codings.length > 0) return new AmbiguousFramingError('the request has both Content-Length and Transfer-Encoding');
  if (codings.length > 0) {
    if (codings.at(-1) !== 'chunked') return new AmbiguousFramingError('the request\'s Transfer-Encoding does not end in chunked');
    if (codings.indexOf('chunked') !== codings.length - 1) return new AmbiguousFramingError('the request applies chunked more than once');
    // gzip, chunked and the like are sound but rare, and they could only be forwarded as they came.
    if (codings.length > 1) return new AmbiguousFramingError(`the transfer coding ${codings[0]} is not supported`, 501);
    return { body: 'chunked' };
  }
  if (lengths.length > 1) return new AmbiguousFramingError('the request has more than one Content-Length');
  if (lengths.length === 1) {
    const [length] = lengths as [string];
    if (!DIGITS.test(length)) return new AmbiguousFramingError('the request\'s Content-Length is not a single length');
    const bytes = Number(length);
    return bytes === 0 ? { body: 'none' } : { body: 'length', length: bytes };
  }
  return { body: 'none' };
}
