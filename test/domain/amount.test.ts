import { describe, expect, it } from 'vitest';
import { formatAmount, parseAmount, type Amount } from '../../src/domain/amount.ts';

const units = (input: unknown, options?: Parameters<typeof parseAmount>[1]) => {
  const parsed = parseAmount(input, options);
  return parsed.ok ? formatAmount(parsed.value) : `error: ${parsed.message}`;
};

describe('amounts', () => {
  it.each([
    [15000, '15000'],
    [15000.5, '15000.5'],
    ['15000.50', '15000.5'],
    [0, '0'],
    ['0.00000001', '0.00000001'],
    [1e-8, '0.00000001'],
    [1e12, '1000000000000'],
    ['123456789012.12345678', '123456789012.12345678'],
    [-0, '0'],
  ])('reads %j exactly as %s', (input, expected) => {
    expect(units(input)).toBe(expected);
  });

  it.each([
    [-1, 'must be at least 0'],
    ['abc', 'plain decimal'],
    ['', 'plain decimal'],
    ['1e3', 'plain decimal'],
    [0.123456789, 'at most 8 decimal places'],
    [1e12 + 1, 'at most 1000000000000'],
    [Number.NaN, 'finite'],
    [Number.POSITIVE_INFINITY, 'finite'],
    [true, 'a number or a numeric string'],
    [null, 'a number or a numeric string'],
    [{}, 'a number or a numeric string'],
  ])('rejects %j', (input, message) => {
    expect(units(input)).toContain(message);
  });

  it.each([' 5', '5 ', '+5', '5.', '.5', '00012', '012.5', '\u00a05', '5\u00a0', '1,000', '0x10', '1_000', '-5'])(
    'takes no string from a client but a plain decimal: %j',
    (input) => {
      expect(units(input)).toMatch(/plain decimal|at least 0/);
      if (input !== '-5') expect(units(input, { allowNegative: true })).toContain('plain decimal');
    },
  );

  it('takes a minus sign on a delta only', () => {
    expect(units('-25.50', { allowNegative: true })).toBe('-25.5');
    expect(units('-25.50')).toContain('at least 0');
  });

  it('reads the legacy files leniently: spaces, a sign, an exponent', () => {
    expect(units(' 15000.50 ', { lenient: true })).toBe('15000.5');
    expect(units('+5', { lenient: true })).toBe('5');
    expect(units('1.5e3', { lenient: true })).toBe('1500');
    expect(units('12,000.50', { lenient: true })).toContain('numeric string');
  });

  it('rounds the legacy writer float artefacts to 8 decimals when asked', () => {
    expect(units(0.1 + 0.2, { lenient: true })).toBe('0.3');
    expect(units('9989.760000000001', { lenient: true })).toBe('9989.76');
    expect(units('0.123456785', { lenient: true })).toBe('0.12345679');
    expect(units(0.1 + 0.2)).toContain('at most 8 decimal places');
  });

  it('adds without floating drift', () => {
    const a = parseAmount(0.1);
    const b = parseAmount(0.2);
    if (!a.ok || !b.ok) throw new Error('parse failed');
    expect(formatAmount((a.value + b.value) as Amount)).toBe('0.3');
  });

  it('accepts negative deltas only when allowed', () => {
    expect(units(-25.5, { allowNegative: true })).toBe('-25.5');
  });
});
