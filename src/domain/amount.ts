// Exact money: amounts are bigint counts of 1e-8 units, never floating-point numbers.

export const SCALE = 8;
const UNIT = 10n ** BigInt(SCALE);
export const MAX_AMOUNT = 1_000_000_000_000n * UNIT;

/** A quantity of money in units of 1e-8. Branded so a plain bigint cannot pass for one by accident. */
export type Amount = bigint & { readonly __amount: unique symbol };

export const asAmount = (units: bigint): Amount => units as Amount;
export const ZERO = asAmount(0n);

const DECIMAL = /^([+-]?)(\d+)(?:\.(\d*))?(?:[eE]([+-]?\d+))?$/;
/** What a client may send as a string: a plain decimal, `-` only where negatives are allowed (checked below). */
const PLAIN_DECIMAL = /^-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?$/;

export type ParseResult = { ok: true; value: Amount } | { ok: false; message: string };

/** A JSON number's own text (`99999999999.99999999`), read exactly rather than through a double. */
export interface NumberLiteral {
  literal: string;
}

const isNumberLiteral = (input: unknown): input is NumberLiteral => typeof (input as NumberLiteral | null)?.literal === 'string';

interface ParseOptions {
  /**
   * The legacy files' variants (SPEC, The files): a numeric string with spaces, `+` or an exponent,
   * and excess decimals rounded half-up (float artefacts). Requests are never lenient.
   */
  lenient?: boolean;
  allowNegative?: boolean;
}

/**
 * Parses a JSON number or numeric string exactly. A JSON number is read from its shortest
 * round-trip text, which is the text the client sent for any amount with at most 8 decimals.
 */
export function parseAmount(input: unknown, options: ParseOptions = {}): ParseResult {
  let text: string;
  if (typeof input === 'number') {
    if (!Number.isFinite(input)) return { ok: false, message: 'must be a finite number' };
    text = String(input);
  } else if (isNumberLiteral(input)) {
    // A JSON number as the client wrote it: every digit, which a double may not hold.
    text = input.literal;
  } else if (typeof input === 'string') {
    text = options.lenient ? input.trim() : input;
    if (!options.lenient) {
      if (!PLAIN_DECIMAL.test(text)) return { ok: false, message: 'must be a plain decimal number such as "15000.50"' };
      if (text.startsWith('-') && !options.allowNegative) return { ok: false, message: 'must be at least 0, written without a sign' };
      if ((text.split('.')[1]?.length ?? 0) > SCALE) return { ok: false, message: `must have at most ${SCALE} decimal places` };
    }
  } else {
    return { ok: false, message: 'must be a number or a numeric string' };
  }

  const match = DECIMAL.exec(text);
  if (!match) return { ok: false, message: 'must be a number or a numeric string' };
  const [, sign = '', whole = '0', fraction = '', exponentText = '0'] = match;
  const exponent = Number(exponentText);
  if (!Number.isSafeInteger(exponent) || Math.abs(exponent) > 400) return { ok: false, message: 'is out of range' };

  // Shift the decimal point by the exponent, working on the digit string alone.
  const all = whole + fraction;
  const pointAt = whole.length + exponent;
  const intDigits = all.slice(0, Math.max(pointAt, 0)).padEnd(Math.max(pointAt, 0), '0') || '0';
  let fracDigits = pointAt < 0 ? '0'.repeat(-pointAt) + all : all.slice(pointAt);
  fracDigits = fracDigits.replace(/0+$/, '');

  let units: bigint;
  if (fracDigits.length > SCALE) {
    if (!options.lenient) return { ok: false, message: `must have at most ${SCALE} decimal places` };
    const kept = BigInt(intDigits + fracDigits.slice(0, SCALE));
    units = fracDigits.charCodeAt(SCALE) >= 53 /* '5' */ ? kept + 1n : kept;
  } else {
    units = BigInt(intDigits + fracDigits.padEnd(SCALE, '0'));
  }

  const negative = sign === '-' && units !== 0n;
  if (negative && !options.allowNegative) return { ok: false, message: 'must be at least 0' };
  if (units > MAX_AMOUNT) return { ok: false, message: 'must be at most 1000000000000' };
  return { ok: true, value: asAmount(negative ? -units : units) };
}

/** Canonical decimal text: no exponent, no trailing zeros ("15000", "9989.76", "-0.5"). */
export function formatAmount(amount: bigint): string {
  const negative = amount < 0n;
  const abs = negative ? -amount : amount;
  const whole = abs / UNIT;
  const fraction = (abs % UNIT).toString().padStart(SCALE, '0').replace(/0+$/, '');
  return `${negative ? '-' : ''}${whole}${fraction ? `.${fraction}` : ''}`;
}
