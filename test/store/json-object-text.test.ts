import { describe, expect, it } from 'vitest';
import { JsonObjectText } from '../../src/store/json-object-text.ts';

describe('verbatim JSON object text', () => {
  it('rewrites owned keys and leaves every other byte as it was', () => {
    const text = '{\n  "enabled": true,\n  "balance": 9989.760000000001,\n  "fee": 1.0,\n  "id": 12345678901234567890,\n  "log": [{"a": "}\\"]"}]\n}\n';
    const next = JsonObjectText.index(text).with({ balance: '15000' });
    expect(next.text).toBe(text.replace('9989.760000000001', '15000'));
  });

  it('appends keys the file does not have yet, in its own layout', () => {
    const pretty = JsonObjectText.index('{\n  "balance": 1\n}').with({ _meta: '{"revision":1}' });
    expect(pretty.text).toBe('{\n  "balance": 1,\n  "_meta": {"revision":1}\n}');
    const compact = JsonObjectText.index('{"a":1}').with({ balance: '2' });
    expect(JSON.parse(compact.text)).toEqual({ a: 1, balance: 2 });
    const empty = JsonObjectText.index('{}').with({ balance: '3', b: '"x"' });
    expect(JSON.parse(empty.text)).toEqual({ balance: 3, b: 'x' });
  });

  it('can be rewritten again and again', () => {
    let doc = JsonObjectText.create({ balance: '1' });
    for (let i = 2; i < 5; i++) doc = doc.with({ balance: String(i), _meta: `{"revision":${i}}` });
    expect(doc.text).toBe('{\n  "balance": 4,\n  "_meta": {"revision":4}\n}\n');
  });

  it('finds top-level keys only, past strings that look like JSON', () => {
    const doc = JsonObjectText.index('{"nested": {"balance": 1}, "note": "\\"balance\\": 2", "balance": 3}');
    expect(doc.with({ balance: '4' }).text).toBe('{"nested": {"balance": 1}, "note": "\\"balance\\": 2", "balance": 4}');
  });
});
