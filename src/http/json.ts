// JSON for responses, with amounts (bigints) written as exact decimal numbers rather than doubles.

import { randomBytes } from 'node:crypto';
import { formatAmount } from '../domain/amount.ts';

// A marker no client data can contain by chance: a NUL and a per-process random tag.
const TAG = `\u0000${randomBytes(6).toString('hex')}:`;
const MARKED = new RegExp(`"${JSON.stringify(TAG).slice(1, -1).replace(/\\/g, '\\\\')}(-?[0-9.]+)"`, 'g');

const replacer = (_key: string, value: unknown) => (typeof value === 'bigint' ? TAG + formatAmount(value) : value);

export function toJson(value: unknown): string {
  const text = JSON.stringify(value, replacer);
  return text.includes('\\u0000') ? text.replace(MARKED, '$1') : text;
}
