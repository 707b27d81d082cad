// The same JSON value always gives the same text: keys sorted at every depth, however deep.

import { stringifyDeep } from './deep-json.ts';

export function canonicalJson(value: unknown): string {
  return stringifyDeep(value, { sortKeys: true }) ?? 'null';
}
