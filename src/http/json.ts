// JSON for responses, with amounts (bigints) written as exact decimal numbers rather than doubles.

import { randomBytes } from 'node:crypto';
import { formatAmount } from '../domain/amount.ts';

// JSON.stringify cannot write a bigint, and a double cannot hold every amount: each amount is
// written as a tagged string first, then unquoted. The random tag cannot occur in client data by chance.
const TAG = `@amount-${randomBytes(8).toString('hex')}:`;
const TAGGED = new RegExp(`"${TAG}(-?[0-9.]+)"`, 'g');

const replacer = (_key: string, value: unknown) => (typeof value === 'bigint' ? TAG + formatAmount(value) : value);

export function toJson(value: unknown): string {
  const text = JSON.stringify(value, replacer);
  return text.includes(TAG) ? text.replace(TAGGED, '$1') : text;
}
