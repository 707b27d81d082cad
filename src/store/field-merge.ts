// The other fields of a file written by two processes at once (a stalled writer finishing in a
// version the service healed over, a toggler that read the healed file meanwhile): both changes kept.

import type { JsonObjectText } from './json-object-text.ts';

export interface Fields {
  doc: JsonObjectText;
  fields: Record<string, unknown>;
}

/** The keys whose values the service writes itself: never merged from a writer's text. */
const OWNED = new Set(['balance', 'last_updated']);

export const same = (a: unknown, b: unknown): boolean => a === b || JSON.stringify(a) === JSON.stringify(b);

/**
 * `theirs` was written by a process that read the service's own version holding `base`, before the
 * fields in `unseen` reached the file (a stalled writer's, merged meanwhile from a version the service
 * had healed over); `current` is what the service holds now. Newest-wins would drop those fields:
 * instead, their text is kept, and each field of `unseen` they left as it was in `base` takes the
 * current value, from its own text. Any other field they wrote is theirs (a stale copy's toggle too).
 */
export function mergeFields(current: Fields, base: Readonly<Record<string, unknown>>, theirs: Fields, unseen: ReadonlySet<string>): Fields {
  const keep: Record<string, string> = {};
  for (const [key, value] of Object.entries(current.fields)) {
    if (!unseen.has(key) || OWNED.has(key) || same(value, base[key]) || !same(theirs.fields[key], base[key])) continue;
    const raw = current.doc.raw(key);
    if (raw !== undefined) keep[key] = raw;
  }
  if (Object.keys(keep).length === 0) return theirs;
  const fields = { ...theirs.fields };
  for (const key of Object.keys(keep)) fields[key] = current.fields[key];
  return { doc: theirs.doc.with(keep), fields };
}
