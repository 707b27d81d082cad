// The other fields of a file written by two processes at once (a stalled writer finishing in a
// version the service healed over, a toggler that read the healed file meanwhile): both changes kept.

import type { JsonObjectText } from './json-object-text.ts';

export interface Fields {
  doc: JsonObjectText;
  fields: Record<string, unknown>;
}

/** The keys whose values the service writes itself: never merged from a writer's text. */
const OWNED = new Set(['balance', 'last_updated']);

const same = (a: unknown, b: unknown): boolean => a === b || JSON.stringify(a) === JSON.stringify(b);

/**
 * `theirs` was written by a process that read the service's own version holding `base`; `current`
 * is what the service holds now. Newest-wins would drop whatever changed between `base` and
 * `current` (another writer's fields, merged meanwhile); instead, their text is kept and each field
 * they left as it was in `base` but that changed since takes the current value, from its own text.
 */
export function mergeFields(current: Fields, base: Readonly<Record<string, unknown>>, theirs: Fields): Fields {
  const keep: Record<string, string> = {};
  for (const [key, value] of Object.entries(current.fields)) {
    if (OWNED.has(key) || same(value, base[key]) || !same(theirs.fields[key], base[key])) continue;
    const raw = current.doc.raw(key);
    if (raw !== undefined) keep[key] = raw;
  }
  if (Object.keys(keep).length === 0) return theirs;
  const fields = { ...theirs.fields };
  for (const key of Object.keys(keep)) fields[key] = current.fields[key];
  return { doc: theirs.doc.with(keep), fields };
}
