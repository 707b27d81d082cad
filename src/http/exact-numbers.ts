// Amounts sent as JSON numbers, read from the digits the client wrote: JSON.parse turns
// 99999999999.99999999 into a double that holds 100000000000, and an amount must never change on the way in.

import { parseAmount, type Amount } from '../domain/amount.ts';
import { ValidationError } from '../domain/errors.ts';
import { JsonObjectText } from '../store/json-object-text.ts';

const raw = new WeakMap<object, Buffer>();

/** body-parser's `verify` hook: keeps the bytes the body was parsed from. */
export const keepRawBody = (req: object, _res: unknown, buffer: Buffer): void => void raw.set(req, buffer);

/**
 * The exact amount of a top-level field that the client sent as a JSON number, or undefined when it
 * sent none (or a string, which is exact already). Throws a 400 for digits an amount cannot have.
 */
export function exactNumber(req: object, field: string, allowNegative: boolean): Amount | undefined {
  const bytes = raw.get(req);
  const body = (req as { body?: unknown }).body;
  if (!bytes || typeof (body as Record<string, unknown> | null)?.[field] !== 'number') return undefined;
  let text = bytes.toString('utf8');
  if (text.startsWith('\uFEFF')) text = text.slice(1);
  const literal = JsonObjectText.index(text.trim()).valueText(field);
  if (literal === undefined) return undefined;
  const parsed = parseAmount({ literal }, { allowNegative });
  if (!parsed.ok) throw new ValidationError(`invalid request body: ${field} ${parsed.message}`, [{ path: field, message: parsed.message }]);
  return parsed.value;
}
