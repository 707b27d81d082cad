import { open, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { asAmount } from '../../src/domain/amount.ts';
import type { JournalEntry } from '../../src/domain/ports.ts';
import { JOURNAL_FILE, Journal, type JournalOptions } from '../../src/store/journal.ts';
import { encodeEntry } from '../../src/store/journal-line.ts';
import { tempDir } from '../helpers/temp-dir.ts';

const HOUR = 60 * 60 * 1000;
const DAY = 24 * HOUR;
const opened: Journal[] = [];
afterEach(async () => {
  await Promise.all(opened.splice(0).map((j) => j.close()));
});

/** The machine's clocks, moved by the test: `pass` is real time going by, `step` a step of the wall clock only. */
function machine(startMs = Date.parse('2026-03-01T12:00:00Z')) {
  let wall = startMs;
  let mono = 5_000_000;
  let boot = 'boot-1';
  return {
    clocks: { wall: () => wall, mono: () => mono, get boot() { return boot; } },
    pass: (ms: number) => ((wall += ms), (mono += ms)),
    step: (ms: number) => (wall += ms),
    reboot: () => ((boot = `${boot}+`), (mono = 1_000)),
  };
}

type Machine = ReturnType<typeof machine>;

async function openOn(dir: string, m: Machine, options: Partial<JournalOptions> = {}) {
  const { journal } = await Journal.open(dir, { maxBytes: 1 << 30, keepSegments: 2, retainMs: DAY, checkEveryMs: 0, clocks: m.clocks, ...options });
  opened.push(journal);
  return journal;
}

let revision = 0;
/** A change with an Idempotency-Key, made now by the machine's wall clock. */
const keyed = (m: Machine): JournalEntry => {
  revision++;
  return { revision, at: new Date(m.clocks.wall()).toISOString(), balance: asAmount(BigInt(revision) * 100_000_000n), previous: null, source: 'api', idempotency_key: `key-${revision}`, request_hash: 'h' };
};

async function changes(journal: Journal, m: Machine, count: number) {
  for (let i = 0; i < count; i++) {
    await journal.append([keyed(m)]);
    m.pass(1_000);
  }
}

const keysAfterRestart = async (dir: string, m: Machine) => {
  const journal = opened.pop() as Journal;
  await journal.close();
  return (await openOn(dir, m)).keysInWindow().map(({ entry }) => entry.idempotency_key);
};

describe('the 24 h window of idempotency keys, judged by the journal\'s order', () => {
  it.each([
    ['back', -2 * DAY],
    ['forward', 2 * DAY],
  ])('a wall clock stepped %s by 2 days for one change forgets no key at the next start', async (_way, by) => {
    const dir = await tempDir();
    const m = machine();
    revision = 0;
    const journal = await openOn(dir, m);
    await changes(journal, m, 10);
    m.step(by);
    await changes(journal, m, 1);
    m.step(-by);
    await changes(journal, m, 10);
    expect(await keysAfterRestart(dir, m)).toHaveLength(21);
  });

  it('a wall clock still 2 days ahead at the next start forgets no key: the monotonic clock sees through it', async () => {
    const dir = await tempDir();
    const m = machine();
    revision = 0;
    await changes(await openOn(dir, m), m, 5);
    m.step(2 * DAY);
    expect(await keysAfterRestart(dir, m)).toHaveLength(5);
  });

  it('a wall clock stepped back and left there forgets no key', async () => {
    const dir = await tempDir();
    const m = machine();
    revision = 0;
    const journal = await openOn(dir, m);
    await changes(journal, m, 5);
    m.step(-3 * DAY);
    await changes(journal, m, 5);
    expect(await keysAfterRestart(dir, m)).toHaveLength(10);
  });

  it('still forgets keys once a day has really gone by, whether or not the machine rebooted', async () => {
    const dir = await tempDir();
    const m = machine();
    revision = 0;
    const journal = await openOn(dir, m);
    await changes(journal, m, 3);
    m.pass(25 * HOUR);
    await changes(journal, m, 2);
    expect(await keysAfterRestart(dir, m)).toEqual(['key-4', 'key-5']);
    m.reboot();
    m.pass(25 * HOUR);
    expect(await keysAfterRestart(dir, m)).toEqual([]);
  });

  it('rotation drops what a day has really aged, and keeps a segment that looks old only because the clock was stepped back', async () => {
    const dir = await tempDir();
    const m = machine();
    revision = 0;
    const journal = await openOn(dir, m, { maxBytes: 300, keepSegments: 1 });
    const rotated = async (count: number) => {
      for (let i = 0; i < count; i++) {
        await changes(journal, m, 1);
        await journal.compact();
      }
    };
    await rotated(4);
    m.pass(2 * DAY);
    m.step(-3 * DAY);
    await rotated(4);
    m.step(3 * DAY);
    await rotated(4);
    expect(await keysAfterRestart(dir, m)).toEqual(Array.from({ length: 8 }, (_, i) => `key-${i + 5}`));
  });

  it('at start-up reads back no further than the window, however long the journal', async () => {
    const dir = await tempDir();
    const m = machine();
    revision = 0;
    const old = Array.from({ length: 100_000 }, (_, i) => encodeEntry({ ...keyed(m), at: new Date(m.clocks.wall() - 10 * DAY + i).toISOString() }));
    const recent = Array.from({ length: 20 }, () => encodeEntry(keyed(m)));
    await writeFile(join(dir, JOURNAL_FILE), [...old, ...recent].join(''));

    const probe = await open(join(dir, JOURNAL_FILE), 'r');
    const read = vi.spyOn(Object.getPrototypeOf(probe), 'read');
    await probe.close();
    const journal = await openOn(dir, m);
    expect(journal.keysInWindow().map(({ entry }) => entry.revision)).toEqual(Array.from({ length: 20 }, (_, i) => 100_001 + i));
    expect(read.mock.calls.length).toBeLessThanOrEqual(3);
    read.mockRestore();
  });
});
