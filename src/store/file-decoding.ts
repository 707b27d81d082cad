// What a legacy balance file's text says, decided without touching the disk: pure, so every legacy
// variant can be table-tested, and a read never has a side effect on the file.

import { parseAmount } from '../domain/amount.ts';
import type { BalanceRecord, FileRole } from '../domain/ports.ts';
import type { FileState } from '../domain/reconcile.ts';
import { JsonObjectText } from './json-object-text.ts';

/** The one top-level key the service adds to a file for itself. */
export const META_KEY = '_balance_sync';

/** A UTF-8 byte-order mark, as some Windows editors save it: accepted, and kept on every write. */
const BOM = '\uFEFF';

export interface FileShape {
  role: FileRole;
  /** The trading state must be an object; the balance file may be a bare legacy number. */
  objectRequired: boolean;
  /** Keys besides `balance` and META_KEY that the service owns, as raw JSON texts. */
  ownedKeys(record: BalanceRecord): Record<string, string>;
}

/** The sidebar's file (`virtual_balance.json` by default). */
export const balanceFileShape: FileShape = {
  role: 'balance',
  objectRequired: false,
  ownedKeys: (record) => ({ last_updated: JSON.stringify(record.updatedAt) }),
};

/** The auto-trading panel's file (`auto_trading_state.json` by default). */
export const tradingStateShape: FileShape = {
  role: 'trading',
  objectRequired: true,
  ownedKeys: () => ({}),
};

export interface Decoded {
  /** Carries mtimeMs 0 when decoded: the caller knows the version's time (see `at`). */
  state: FileState;
  /** The object's text, indexed for rewriting the owned keys; null when the file is not an object. */
  doc: JsonObjectText | null;
  /** Every field but the service's own key; null when the file is not an object. */
  fields: Record<string, unknown> | null;
  /** The file began with a byte-order mark. */
  bom: boolean;
  /** Which write of the service this version is, or was read from (`_balance_sync.write`). */
  writeId: string | null;
}

/** Whether `text` is a whole file again: it parses, and has the shape the file needs. */
export const isWhole = (shape: FileShape, text: string): boolean => decode(shape, text, 0).state.status !== 'corrupt';

/** Decodes one version of a file, written at `mtimeMs`. */
export function decode(shape: FileShape, text: string, mtimeMs: number): Decoded {
  const bom = text.startsWith(BOM);
  const body = bom ? text.slice(1) : text;
  let value: unknown;
  try {
    value = JSON.parse(body);
  } catch (error) {
    return { state: { status: 'corrupt', reason: `not JSON (${(error as Error).message})` }, doc: null, fields: null, bom, writeId: null };
  }
  if (!isObject(value)) {
    if (shape.objectRequired) return { state: { status: 'corrupt', reason: 'not a JSON object' }, doc: null, fields: null, bom, writeId: null };
    // The legacy balance file may hold a bare number; anything else there is a balance that cannot be read.
    return { state: balanceState(value, mtimeMs, null), doc: null, fields: null, bom, writeId: null };
  }
  const { [META_KEY]: meta, ...fields } = value;
  const revision = revisionOf(meta);
  // An object whose `balance` key is absent simply holds no balance; one that holds an unreadable value is another matter.
  const state: FileState = 'balance' in fields ? balanceState(fields.balance, mtimeMs, revision) : { status: 'no-balance', revision };
  const writeId = (meta as { write?: unknown } | null)?.write;
  return { state, doc: JsonObjectText.index(body), fields, bom, writeId: typeof writeId === 'string' ? writeId : null };
}

/** The text of a new version: `doc` (or a fresh object) with the owned values set, the file's BOM kept. */
export function encode(doc: JsonObjectText | null, owned: Record<string, string>, bom: boolean): { doc: JsonObjectText; text: string } {
  const next = doc ? doc.with(owned) : JsonObjectText.create(owned);
  return { doc: next, text: bom ? BOM + next.text : next.text };
}

function balanceState(value: unknown, mtimeMs: number, revision: number | null): FileState {
  const balance = parseAmount(value, { lenient: true });
  return balance.ok
    ? { status: 'valid', balance: balance.value, mtimeMs, revision }
    : { status: 'unreadable', reason: `the balance ${truncated(value)} ${balance.message}`, revision };
}

const truncated = (value: unknown): string => {
  const text = JSON.stringify(value) ?? String(value);
  return text.length > 40 ? `${text.slice(0, 40)}…` : text;
};

const isObject = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null && !Array.isArray(value);

function revisionOf(meta: unknown): number | null {
  const revision = (meta as { revision?: unknown } | null)?.revision;
  return Number.isSafeInteger(revision) && (revision as number) >= 0 ? (revision as number) : null;
}
