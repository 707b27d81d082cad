import { describe, expect, it } from 'vitest';
import { asAmount } from '../../src/domain/amount.ts';
import { canonicalJson } from '../../src/http/canonical-json.ts';
import { stringifyDeep } from '../../src/http/deep-json.ts';
import { toJson } from '../../src/http/json.ts';

const nested = (depth: number, leaf: unknown = 1, kind: 'array' | 'object' = 'array') => {
  let value: unknown = leaf;
  for (let i = 0; i < depth; i++) value = kind === 'array' ? [value] : { a: value };
  return value;
};

describe('JSON of any depth', () => {
  it.each([
    ['scalars', [null, true, false, 0, -0, 1.5e300, 'a"\\\n\u2028é😀', '']],
    ['skipped members and holes', { a: undefined, b: () => 1, c: [undefined, () => 1, Symbol('s')], d: NaN, e: Infinity }],
    ['toJSON and boxed values', { at: new Date(0), n: Object(5), s: Object('x'), b: Object(false), nested: { toJSON: () => ({ z: [1] }) } }],
    ['key order and empty containers', { z: 1, a: { y: [], b: {} }, '': 0, 10: 'ten', 2: 'two' }],
    ['a trade log', { enabled: true, trade_log: Array.from({ length: 50 }, (_, i) => ({ id: i, pnl: i / 7, side: i % 2 ? 'buy' : 'sell', tags: [] })) }],
  ])('writes what JSON.stringify writes: %s', (_what, value) => {
    expect(stringifyDeep(value)).toBe(JSON.stringify(value));
  });

  it('skips what JSON.stringify skips at the top, and refuses a cycle as it does', () => {
    expect(stringifyDeep(undefined)).toBeUndefined();
    const cycle: Record<string, unknown> = {};
    cycle.self = { back: cycle };
    expect(() => stringifyDeep(cycle)).toThrow(TypeError);
    const shared = { x: 1 };
    expect(stringifyDeep({ a: shared, b: [shared] })).toBe('{"a":{"x":1},"b":[{"x":1}]}');
  });

  it.each([2_500, 10_000, 200_000])('serves a value nested %i levels deep, as it is', (depth) => {
    const leaf = '0.00000001';
    const text = toJson({ balance: asAmount(1_234_500_000_000n), state: nested(depth, asAmount(1n)) });
    expect(text).toBe(`{"balance":12345,"state":${'['.repeat(depth)}${leaf}${']'.repeat(depth)}}`);
    const objects = toJson(nested(depth, asAmount(1n), 'object'));
    expect(objects).toBe(`${'{"a":'.repeat(depth)}${leaf}${'}'.repeat(depth)}`);
  });

  it('fingerprints a request body nested as deep as 16 KiB allows, keys sorted at every depth', () => {
    expect(canonicalJson({ b: 1, a: { d: [{ f: 1, e: 2 }], c: null } })).toBe('{"a":{"c":null,"d":[{"e":2,"f":1}]},"b":1}');
    const deep = JSON.parse(`{"balance":1,"x":${'['.repeat(8_000)}${']'.repeat(8_000)}}`);
    expect(canonicalJson(deep)).toBe(`{"balance":1,"x":${'['.repeat(8_000)}${']'.repeat(8_000)}}`);
  });
});
