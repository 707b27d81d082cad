// JSON text of any depth. JSON.stringify recurses, and throws past a few thousand levels (fewer with
// a replacer); a trading state the legacy side nested deeper must still be served, and a request
// body fingerprinted. This writes the same text with a stack of its own.

export interface DeepJsonOptions {
  /** Object keys in sorted order (a canonical text), instead of their own order. */
  sortKeys?: boolean;
  /** How a bigint is written (JSON.stringify refuses them). */
  bigint?: (value: bigint) => string;
}

interface Frame {
  value: Record<string, unknown> | unknown[];
  /** An object's keys; null for an array. */
  keys: string[] | null;
  next: number;
  first: boolean;
}

/** What JSON.stringify would give for `value` (undefined for a value it skips), at any depth. */
export function stringifyDeep(root: unknown, options: DeepJsonOptions = {}): string | undefined {
  const out: string[] = [];
  const stack: Frame[] = [];
  const onStack = new Set<object>();

  const open = (value: unknown): void => {
    if (value !== null && typeof value === 'object') {
      if (onStack.has(value)) throw new TypeError('Converting circular structure to JSON');
      onStack.add(value);
      const array = Array.isArray(value);
      const keys = array ? null : Object.keys(value);
      if (keys && options.sortKeys) keys.sort();
      out.push(array ? '[' : '{');
      stack.push({ value: value as Frame['value'], keys, next: 0, first: true });
    } else out.push(primitive(value, options) as string);
  };

  const top = prepare(root, '');
  if (skipped(top)) return undefined;
  open(top);
  while (stack.length > 0) {
    const frame = stack.at(-1) as Frame;
    const length = frame.keys ? frame.keys.length : (frame.value as unknown[]).length;
    if (frame.next >= length) {
      out.push(frame.keys ? '}' : ']');
      onStack.delete(frame.value);
      stack.pop();
      continue;
    }
    const index = frame.next++;
    const key = frame.keys ? (frame.keys[index] as string) : String(index);
    const value = prepare((frame.value as Record<string, unknown>)[key], key);
    if (frame.keys) {
      if (skipped(value)) continue; // an object leaves such a member out
      out.push(`${frame.first ? '' : ','}${JSON.stringify(key)}:`);
    } else {
      if (!frame.first) out.push(',');
      if (skipped(value)) {
        out.push('null'); // an array writes null in its place
        frame.first = false;
        continue;
      }
    }
    frame.first = false;
    open(value);
  }
  return out.join('');
}

/** toJSON() and boxed primitives, as JSON.stringify sees them. */
function prepare(value: unknown, key: string): unknown {
  let v = value;
  if (v !== null && typeof v === 'object' && typeof (v as { toJSON?: unknown }).toJSON === 'function') v = (v as { toJSON(key: string): unknown }).toJSON(key);
  if (v instanceof Number || v instanceof String || v instanceof Boolean) v = v.valueOf();
  return v;
}

const skipped = (value: unknown) => value === undefined || typeof value === 'function' || typeof value === 'symbol';

function primitive(value: unknown, options: DeepJsonOptions): string {
  if (typeof value === 'bigint') {
    if (!options.bigint) throw new TypeError('Do not know how to serialize a BigInt');
    return options.bigint(value);
  }
  return JSON.stringify(value) as string;
}
