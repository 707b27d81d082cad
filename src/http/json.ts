// JSON for responses, with amounts (bigints) written as exact decimal numbers rather than doubles,
// at any depth.

import { randomBytes } from 'node:crypto';
import { formatAmount } from '../domain/amount.ts';
import { stringifyDeep } from './deep-json.ts';

// JSON.stringify cannot write a bigint, and a double cannot hold every amount: each amount is
// written as a tagged string first, then unquoted. The random tag cannot occur in client data by chance.
const TAG = `@amount-${randomBytes(8).toString('hex')}:`;
const TAGGED = new RegExp(`"${TAG}(-?[0-9.]+)"`, 'g');

const replacer = (_key: string, value: unknown) => (typeof value === 'bigint' ? TAG + formatAmount(value) : value);

export function toJson(value: unknown): string {
  let text: string;
  try {
    text = JSON.stringify(value, replacer);
  } catch (error) {
    // Nested past what JSON.stringify's recursion reaches (a trading state 2,500 levels deep): the
    // same text, written without recursion. Only then: the native writer is several times faster.
    if (!(error instanceof RangeError)) throw error;
    return stringifyDeep(value, { bigint: formatAmount }) as string;
  }
  return text.includes(TAG) ? text.replace(TAGGED, '$1') : text;
}
