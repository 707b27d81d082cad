// Conditional requests (RFC 9110 §13.1): entity-tag lists read once, compared the way the RFC says.

import type { Request } from 'express';
import type { RevisionSet } from '../domain/change.ts';

interface EntityTag {
  weak: boolean;
  opaque: string;
}

/** The tags of an If-Match / If-None-Match value, or `*`. Malformed members are skipped. */
export function parseEntityTags(header: string): EntityTag[] | '*' {
  if (header.trim() === '*') return '*';
  const tags: EntityTag[] = [];
  // A tag's opaque part may itself hold commas, so members are matched, not split.
  for (const match of header.matchAll(/(W\/)?"([^"]*)"/g)) tags.push({ weak: match[1] !== undefined, opaque: match[2] as string });
  return tags;
}

/**
 * §13.1.2: If-None-Match names the current representation, by weak comparison (`W/"r7"` matches
 * `"r7"`), or is `*`. Cache-Control and Pragma in the request play no part: fetch() sends both with
 * every If-None-Match, and a matching GET must still be a 304.
 */
export function noneMatchHits(req: Request, etag: string): boolean {
  const header = req.headers['if-none-match'];
  if (header === undefined) return false;
  const tags = parseEntityTags(header);
  if (tags === '*') return true;
  const current = etag.replace(/^W\//, '');
  return tags.some((tag) => `"${tag.opaque}"` === current);
}

/** §13.1.1: If-Match names the current representation, by strong comparison, or is `*`. */
export function matchHits(header: string, etag: string): boolean {
  const tags = parseEntityTags(header);
  return tags === '*' || (!etag.startsWith('W/') && tags.some((tag) => !tag.weak && `"${tag.opaque}"` === etag));
}

/**
 * The revisions a header's `"r<revision>"` tags name, for the balance's own preconditions. If-Match
 * compares strongly (§13.1.1: a weak tag never matches); If-None-Match weakly.
 */
export function revisionsNamed(header: string, comparison: 'strong' | 'weak'): RevisionSet {
  const tags = parseEntityTags(header);
  if (tags === '*') return 'any';
  return tags.flatMap(({ weak, opaque }) => {
    const revision = /^r(\d{1,15})$/.exec(opaque)?.[1];
    return revision !== undefined && !(weak && comparison === 'strong') ? [Number(revision)] : [];
  });
}
