import { appendFile, open, readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { asAmount } from '../../src/domain/amount.ts';
import type { JournalEntry } from '../../src/domain/ports.ts';
import { JOURNAL_FILE, Journal, type JournalOptions } from '../../src/store/journal.ts';
import { encodeEntry } from '../../src/store/journal-line.ts';
import { tempDir } from '../helpers/temp-dir.ts';

const DAY = 24 * 60 * 60 * 1000;
const opened: Journal[] = [];
afterEach(async () => {
  await Promise.all(opened.splice(0).map((j) => j.close()));
  vi.restoreAllMocks();
});

/** A wall clock and a monotonic clock that the test moves: `pass` is real time, `step` a wall-clock step. */
function clocksAt(wallMs: number, boot: string | null = 'boot-1') {
  let wall = wallMs;
  let mono = 1_000_000;
  return {
    wall: () => wall,
    mono: () => mono,
    boot,
    pass(ms: number) {
      wall += ms;
      mono += ms;
    },
    step(ms: number) {
      wall += ms;
    },
  };
}

const entry = (revision: number, atMs = Date.now(), extra: Partial<JournalEntry> = {}): JournalEntry => ({
  revision,
  at: new Date(atMs).toISOString(),
  balance: asAmount(BigInt(revision) * 100_000_000n + 12_345_678n),
  previous: revision > 1 ? asAmount(BigInt(revision - 1) * 100_000_000n) : null,
  source: 'api',
  ...extra,
});

async function openJournal(dir: string, options: Partial<JournalOptions> = {}) {
  const result = await Journal.open(dir, { maxBytes: 1 << 30, keepSegments: 3, retainMs: DAY, checkEveryMs: 0, ...options });
  opened.push(result.journal);
  return result;
}

describe('the journal', () => {
  it('tells what it knows since a revision: its balance, and what one file wrote after it, reading back only that far', async () => {
    const dir = await tempDir();
    const { journal } = await openJournal(dir);
    const external = { source: 'external:auto_trading_state.json' };
    // Revision 4 was a write of that file carrying revision 2: what a writer still carrying 2 last knew.
    await journal.append([entry(1), entry(2, Date.now(), external), entry(3), entry(4, Date.now(), { ...external, basedOn: 2 }), entry(5, Date.now(), { source: 'external:virtual_balance.json' })]);
    expect(await journal.writeBackHistory(2, 'auto_trading_state.json')).toEqual({ atRevision: entry(2).balance, echoes: [entry(4).balance], lastWritten: entry(4).balance });
    expect(await journal.writeBackHistory(1, 'auto_trading_state.json')).toEqual({ atRevision: entry(1).balance, echoes: [entry(4).balance, entry(2).balance], lastWritten: null });
    expect(await journal.writeBackHistory(0, 'auto_trading_state.json')).toEqual({ atRevision: null, echoes: [entry(4).balance, entry(2).balance], lastWritten: null });
  });

  it('writes one JSON line per entry and reads amounts back exactly', async () => {
    const dir = await tempDir();
    const { journal } = await openJournal(dir);
    await journal.append([entry(1), entry(2, Date.now(), { reason: 'why', idempotency_key: 'k', request_hash: 'h' })]);
    const lines = (await readFile(join(dir, JOURNAL_FILE), 'utf8')).trim().split('\n').map((l) => JSON.parse(l));
    expect(lines[1]).toMatchObject({ revision: 2, balance: 2.12345678, previous: 1, source: 'api', reason: 'why', idempotency_key: 'k' });
    expect(await journal.recent(5)).toEqual([entry(2, Date.parse(lines[1].at), { reason: 'why', idempotency_key: 'k', request_hash: 'h' }), entry(1, Date.parse(lines[0].at))]);
  });

  it.each([
    ['a half-written line', '{"revision":3,"at":"2026-'],
    ['a line that is not an entry', 'garbage\n'],
  ])('ignores and trims %s at the end, never failing', async (_what, torn) => {
    const dir = await tempDir();
    await writeFile(join(dir, JOURNAL_FILE), encodeEntry(entry(1)) + encodeEntry(entry(2)) + torn);
    const { journal, trimmed } = await openJournal(dir);
    expect(trimmed).toBe(true);
    expect(journal.last()?.revision).toBe(2);
    expect((await readFile(join(dir, JOURNAL_FILE), 'utf8')).endsWith(encodeEntry(entry(2)).slice(-20))).toBe(true);
    await journal.append([entry(3)]);
    expect((await journal.recent(10)).map((e) => e.revision)).toEqual([3, 2, 1]);
  });

  it('takes appended lines back out when the files could not follow', async () => {
    const dir = await tempDir();
    const { journal } = await openJournal(dir);
    await journal.append([entry(1)]);
    const undo = await journal.append([entry(2), entry(3)]);
    await undo();
    expect(journal.last()?.revision).toBe(1);
    expect((await journal.recent(10)).map((e) => e.revision)).toEqual([1]);
  });

  it('reads the newest entries of 100,000 without reading the rest', async () => {
    const dir = await tempDir();
    const lines: string[] = [];
    for (let i = 1; i <= 100_000; i++) lines.push(encodeEntry(entry(i, Date.parse('2026-01-01') + i)));
    await writeFile(join(dir, JOURNAL_FILE), lines.join(''));
    const { journal } = await openJournal(dir);

    const probe = await open(join(dir, JOURNAL_FILE), 'r');
    const read = vi.spyOn(Object.getPrototypeOf(probe), 'read');
    await probe.close();
    const newest = await journal.recent(50);
    expect(newest.map((e) => e.revision)).toEqual(Array.from({ length: 50 }, (_, i) => 100_000 - i));
    expect(read.mock.calls.length).toBeLessThanOrEqual(2);
  });

  it('rotates past its size, reads history across segments, and keeps a bounded number of old ones', async () => {
    const dir = await tempDir();
    const clocks = clocksAt(Date.parse('2026-01-01T00:00:00Z'));
    const { journal } = await openJournal(dir, { maxBytes: 1_000, keepSegments: 2, clocks });
    for (let i = 1; i <= 60; i++) {
      await journal.append([entry(i, clocks.wall())]);
      await journal.compact();
      clocks.pass(2 * DAY); // every segment is soon older than the idempotency window
    }
    const segments = (await readdir(dir)).filter((n) => n.startsWith(`${JOURNAL_FILE}.`));
    expect(segments.length).toBe(2);
    const history = await journal.recent(15);
    expect(history.map((e) => e.revision)).toEqual(Array.from({ length: 15 }, (_, i) => 60 - i));
  });

  it('never drops a segment with entries younger than the idempotency window', async () => {
    const dir = await tempDir();
    const { journal } = await openJournal(dir, { maxBytes: 500, keepSegments: 1 });
    for (let i = 1; i <= 40; i++) {
      await journal.append([entry(i, Date.now(), { idempotency_key: `key-${i}`, request_hash: 'h' })]);
      await journal.compact();
    }
    const { journal: reopened } = await openJournal(dir);
    expect(reopened.keysInWindow().map(({ entry: e }) => e.revision)).toEqual(Array.from({ length: 40 }, (_, i) => i + 1));
  });

  it('finds its last entry in a rotated segment when the current one is empty', async () => {
    const dir = await tempDir();
    await writeFile(join(dir, `${JOURNAL_FILE}.1`), encodeEntry(entry(7)));
    await appendFile(join(dir, JOURNAL_FILE), '');
    const { journal } = await openJournal(dir);
    expect(journal.last()?.revision).toBe(7);
  });
});
