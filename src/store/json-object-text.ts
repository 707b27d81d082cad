// A JSON object kept as its original text, so the keys the service owns can be rewritten while
// every other byte (number spellings like 1.0, big integers, key order, indentation) stays verbatim.

interface Span {
  start: number;
  end: number;
}

interface Layout {
  spans: Map<string, Span>;
  /** Where new keys go: just after the last top-level value, or just inside an empty object. */
  insertAt: number;
  /** What precedes a key: a newline and indentation for pretty files, a space otherwise. */
  separator: string;
}

export class JsonObjectText {
  private constructor(
    readonly text: string,
    private readonly layout: Layout,
  ) {}

  /** Indexes `text`, which the caller has already seen JSON.parse accept as an object. */
  static index(text: string): JsonObjectText {
    return new JsonObjectText(text, scanTopLevel(text));
  }

  /** The raw JSON text of a top-level value (`99999999999.99999999`, `"x"`), or undefined when there is no such key. */
  valueText(key: string): string | undefined {
    const span = this.layout.spans.get(key);
    return span && this.text.slice(span.start, span.end);
  }

  /** A fresh object holding only `values` (raw JSON texts), pretty-printed like the legacy files. */
  static create(values: Record<string, string>): JsonObjectText {
    const body = Object.entries(values).map(([key, raw]) => `  ${JSON.stringify(key)}: ${raw}`);
    return JsonObjectText.index(`{\n${body.join(',\n')}\n}\n`);
  }

  /** The raw JSON text of a top-level key's value, as written; undefined when there is no such key. */
  raw(key: string): string | undefined {
    const span = this.layout.spans.get(key);
    return span && this.text.slice(span.start, span.end);
  }

  /** The same object with `values` (raw JSON texts) set; every other byte is untouched. */
  with(values: Record<string, string>): JsonObjectText {
    const { spans, insertAt, separator } = this.layout;
    const edits: { start: number; end: number; insert: string }[] = [];
    let appended = '';
    for (const [key, raw] of Object.entries(values)) {
      const span = spans.get(key);
      if (span) edits.push({ ...span, insert: raw });
      else appended += `${spans.size === 0 && appended === '' ? '' : ','}${separator}${JSON.stringify(key)}: ${raw}`;
    }
    if (appended !== '') {
      const closing = spans.size === 0 && separator.startsWith('\n') ? '\n' : '';
      edits.push({ start: insertAt, end: insertAt, insert: appended + closing });
    }
    edits.sort((a, b) => a.start - b.start || a.end - b.end);

    let text = '';
    let cursor = 0;
    for (const edit of edits) {
      text += this.text.slice(cursor, edit.start) + edit.insert;
      cursor = edit.end;
    }
    return JsonObjectText.index(text + this.text.slice(cursor));
  }
}

const STRUCTURAL = /["{}[\]]/g;
const WHITESPACE = /[ \t\r\n]*/y;

function scanTopLevel(text: string): Layout {
  const spans = new Map<string, Span>();
  let at = skipWhitespace(text, 0);
  expect(text, at++, '{');
  const afterBrace = at;
  at = skipWhitespace(text, at);
  const gap = text.slice(afterBrace, at);
  const separator = gap.includes('\n') ? gap.slice(gap.lastIndexOf('\n')) : ' ';
  let insertAt = afterBrace;
  while (text[at] !== '}') {
    const keyEnd = skipString(text, at);
    const key = JSON.parse(text.slice(at, keyEnd)) as string;
    at = skipWhitespace(text, keyEnd);
    expect(text, at++, ':');
    const start = skipWhitespace(text, at);
    const end = skipValue(text, start);
    spans.set(key, { start, end });
    insertAt = end;
    at = skipWhitespace(text, end);
    if (text[at] === ',') at = skipWhitespace(text, at + 1);
  }
  return { spans, insertAt, separator };
}

function skipValue(text: string, at: number): number {
  const c = text[at];
  if (c === '"') return skipString(text, at);
  if (c !== '{' && c !== '[') {
    let end = at;
    while (end < text.length && !',}] \t\r\n'.includes(text[end] as string)) end++;
    return end;
  }
  let depth = 0;
  STRUCTURAL.lastIndex = at;
  for (let m = STRUCTURAL.exec(text); m; m = STRUCTURAL.exec(text)) {
    if (m[0] === '"') {
      STRUCTURAL.lastIndex = skipString(text, m.index);
    } else if (m[0] === '{' || m[0] === '[') {
      depth++;
    } else if (--depth === 0) {
      return m.index + 1;
    }
  }
  throw new SyntaxError('unterminated value');
}

function skipString(text: string, at: number): number {
  let from = at + 1;
  for (;;) {
    const quote = text.indexOf('"', from);
    if (quote < 0) throw new SyntaxError('unterminated string');
    let backslashes = 0;
    while (text.charCodeAt(quote - 1 - backslashes) === 0x5c) backslashes++;
    if (backslashes % 2 === 0) return quote + 1;
    from = quote + 1;
  }
}

function skipWhitespace(text: string, at: number): number {
  WHITESPACE.lastIndex = at;
  WHITESPACE.exec(text);
  return WHITESPACE.lastIndex;
}

function expect(text: string, at: number, char: string): void {
  if (text[at] !== char) throw new SyntaxError(`expected '${char}' at ${at}`);
}
