// One journal entry as one JSON line, with amounts written and read back exactly, and the journal's
// own clock stamp (see journal-clock.ts) at its end.

import { formatAmount, parseAmount, type Amount } from '../domain/amount.ts';
import type { JournalEntry } from '../domain/ports.ts';
import { unstamped, type Stamp } from './journal-clock.ts';

export function encodeEntry(entry: JournalEntry, stamp?: Stamp): string {
  const previous = entry.previous === null ? 'null' : formatAmount(entry.previous);
  let line = `{"revision":${entry.revision},"at":${JSON.stringify(entry.at)},"balance":${formatAmount(entry.balance)},"previous":${previous},"source":${JSON.stringify(entry.source)}`;
  if (entry.reason !== undefined) line += `,"reason":${JSON.stringify(entry.reason)}`;
  if (entry.idempotency_key !== undefined) line += `,"idempotency_key":${JSON.stringify(entry.idempotency_key)}`;
  if (entry.request_hash !== undefined) line += `,"request_hash":${JSON.stringify(entry.request_hash)}`;
  if (entry.written !== undefined) line += `,"written":${formatAmount(entry.written)}`;
  if (entry.basedOn !== undefined) line += `,"based_on":${entry.basedOn}`;
  if (stamp) line += `,"clock":{"t":${stamp.t},"mono":${stamp.mono},"boot":${JSON.stringify(stamp.boot)}}`;
  return `${line}}\n`;
}

// The writer puts the amounts first, so they can be read from their digits rather than through a double.
const HEAD = /^\{"revision":\d+,"at":"[^"]*","balance":(-?[\d.]+),"previous":(-?[\d.]+|null),/;
const WRITTEN = /,"written":(-?[\d.]+)[,}]/;

/** The entry on `line` and its stamp (an entry of an earlier version: its `at`), or null for anything that is not a whole entry. */
export function decodeLine(line: string): { entry: JournalEntry; stamp: Stamp } | null {
  const head = HEAD.exec(line);
  if (!head) return null;
  let value: Record<string, unknown>;
  try {
    value = JSON.parse(line) as Record<string, unknown>;
  } catch {
    return null;
  }
  const balance = exact(head[1]);
  const previous = head[2] === 'null' ? null : exact(head[2]);
  if (balance === null || (previous === null && head[2] !== 'null') || typeof value.source !== 'string') return null;
  const entry: JournalEntry = { revision: value.revision as number, at: value.at as string, balance, previous, source: value.source };
  if (typeof value.reason === 'string') entry.reason = value.reason;
  if (typeof value.idempotency_key === 'string') entry.idempotency_key = value.idempotency_key;
  if (typeof value.request_hash === 'string') entry.request_hash = value.request_hash;
  // Read from its digits too, never through a double.
  const written = WRITTEN.exec(line)?.[1];
  if (written !== undefined && exact(written) !== null) entry.written = exact(written) as Amount;
  if (Number.isSafeInteger(value.based_on)) entry.basedOn = value.based_on as number;
  return { entry, stamp: stampOf(value.clock) ?? unstamped(entry.at) };
}

/** The entry on `line`, or null for anything that is not a whole entry (a torn write, say). */
export const decodeEntry = (line: string): JournalEntry | null => decodeLine(line)?.entry ?? null;

function stampOf(clock: unknown): Stamp | null {
  const { t, mono, boot } = (clock ?? {}) as Record<string, unknown>;
  if (typeof t !== 'number' || !Number.isFinite(t)) return null;
  return { t, mono: typeof mono === 'number' ? mono : null, boot: typeof boot === 'string' ? boot : null };
}

function exact(text: string | undefined): Amount | null {
  const parsed = parseAmount(text, { allowNegative: true });
  return parsed.ok ? parsed.value : null;
}
