import { execFileSync } from 'node:child_process';
import { mkdir, readdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { asAmount } from '../../src/domain/amount.ts';
import type { JournalEntry, JournalHealth, Log } from '../../src/domain/ports.ts';
import { JOURNAL_FILE, Journal, type JournalOptions } from '../../src/store/journal.ts';
import { encodeEntry } from '../../src/store/journal-line.ts';
import { tempDir } from '../helpers/temp-dir.ts';

const DAY = 24 * 60 * 60 * 1000;
const opened: Journal[] = [];
const cleanups: (() => void)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0)) cleanup();
  await Promise.all(opened.splice(0).map((j) => j.close().catch(() => {})));
});

/** A log that keeps what it is told. */
function recordingLog() {
  const lines: { level: string; msg: string; details: Record<string, unknown> }[] = [];
  const at = (level: string) => (details: object, msg: string) => void lines.push({ level, msg, details: details as Record<string, unknown> });
  const log: Log = { debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') };
  return { log, lines };
}

async function openJournal(dir: string, options: Partial<JournalOptions> = {}) {
  const { journal } = await Journal.open(dir, { maxBytes: 1 << 30, keepSegments: 3, retainMs: DAY, checkEveryMs: 0, ...options });
  opened.push(journal);
  return journal;
}

let revision = 0;
const keyed = (): JournalEntry => {
  revision++;
  return { revision, at: new Date().toISOString(), balance: asAmount(BigInt(revision) * 100_000_000n), previous: null, source: 'api', idempotency_key: `key-${revision}`, request_hash: `hash-${revision}` };
};

/** What a fresh start would remember: every key in the window, with the answer and hash. */
async function rememberedAfterRestart(dir: string) {
  const journal = await openJournal(dir);
  return { keys: journal.keysInWindow().map(({ entry }) => entry.idempotency_key), last: journal.last()?.revision };
}

const expectedKeys = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => `key-${from + i}`);

describe('the journal changed under the running service', () => {
  it('deleted: the next change puts it back whole, with every entry, and says so', async () => {
    const dir = await tempDir();
    revision = 0;
    const { log, lines } = recordingLog();
    const journal = await openJournal(dir, { log });
    const health: JournalHealth[] = [];
    journal.onHealthChange((h) => health.push(h));
    for (let i = 0; i < 5; i++) await journal.append([keyed()]);
    await rm(join(dir, JOURNAL_FILE));
    await journal.append([keyed()]);

    expect((await readFile(join(dir, JOURNAL_FILE), 'utf8')).trim().split('\n')).toHaveLength(6);
    expect(journal.health()).toMatchObject({ ok: true, recreated: { reason: 'was deleted' } });
    expect(health).toHaveLength(1);
    expect(lines.find((l) => l.level === 'error')?.msg).toMatch(/journal was deleted while the service ran: re-created it/);
    expect(await rememberedAfterRestart(dir)).toEqual({ keys: expectedKeys(1, 6), last: 6 });
  });

  it('deleted with its rotated segments: within a look, re-created from memory with every key of the window', async () => {
    const dir = await tempDir();
    revision = 0;
    const journal = await openJournal(dir, { maxBytes: 400 });
    for (let i = 0; i < 10; i++) {
      await journal.append([keyed()]);
      await journal.compact();
    }
    for (const name of await readdir(dir)) await rm(join(dir, name));
    await journal.check();
    expect(await rememberedAfterRestart(dir)).toEqual({ keys: expectedKeys(1, 10), last: 10 });
    expect((await journal.recent(20)).map((e) => e.revision)).toEqual([10, 9, 8, 7, 6, 5, 4, 3, 2, 1]);
  });

  it('replaced by a directory: the directory is moved aside, the journal put back', async () => {
    const dir = await tempDir();
    revision = 0;
    const journal = await openJournal(dir);
    for (let i = 0; i < 3; i++) await journal.append([keyed()]);
    await rm(join(dir, JOURNAL_FILE));
    await mkdir(join(dir, JOURNAL_FILE));
    await writeFile(join(dir, JOURNAL_FILE, 'notes.txt'), 'kept');
    await journal.check();
    const aside = (await readdir(dir)).find((n) => n.startsWith(`${JOURNAL_FILE}.displaced-`)) as string;
    expect(await readFile(join(dir, aside, 'notes.txt'), 'utf8')).toBe('kept');
    expect(journal.health()).toMatchObject({ ok: true, recreated: { reason: 'was replaced by a directory', movedAside: aside } });
    await journal.append([keyed()]);
    expect(await rememberedAfterRestart(dir)).toEqual({ keys: expectedKeys(1, 4), last: 4 });
  });

  it.each([
    ['renamed over it', async (path: string, other: string) => rename(other, path)],
    ['copied into it', async (path: string, other: string) => writeFile(path, await readFile(other))],
  ])('replaced by another file (%s): that file is kept beside, the journal put back', async (_how, replace) => {
    const dir = await tempDir();
    revision = 0;
    const journal = await openJournal(dir);
    for (let i = 0; i < 3; i++) await journal.append([keyed()]);
    const other = join(dir, 'old-backup.jsonl');
    await writeFile(other, encodeEntry({ ...keyed(), revision: 1, idempotency_key: 'from-the-backup' }));
    revision--;
    await replace(join(dir, JOURNAL_FILE), other);
    await journal.append([keyed()]);
    const aside = (await readdir(dir)).find((n) => n.startsWith(`${JOURNAL_FILE}.displaced-`)) as string;
    expect(await readFile(join(dir, aside), 'utf8')).toContain('from-the-backup');
    expect(await rememberedAfterRestart(dir)).toEqual({ keys: expectedKeys(1, 4), last: 4 });
  });

  it('made unwritable (chattr +i): changes fail and the journal says so; writable again, it is whole again', async (context) => {
    const dir = await tempDir();
    revision = 0;
    const journal = await openJournal(dir);
    await journal.append([keyed()]);
    try {
      execFileSync('chattr', ['+i', join(dir, JOURNAL_FILE)], { stdio: 'ignore' });
    } catch {
      return context.skip('chattr +i is not supported here');
    }
    cleanups.push(() => execFileSync('chattr', ['-i', join(dir, JOURNAL_FILE)], { stdio: 'ignore' }));
    await expect(journal.append([keyed()])).rejects.toThrow();
    revision--;
    expect(journal.health()).toMatchObject({ ok: false, problem: expect.stringMatching(/^cannot be written/) });
    await journal.check();
    await expect(journal.append([keyed()])).rejects.toThrow();
    revision--;
    expect(journal.health().ok).toBe(false);

    execFileSync('chattr', ['-i', join(dir, JOURNAL_FILE)], { stdio: 'ignore' });
    await journal.check();
    expect(journal.health().ok).toBe(true);
    await journal.append([keyed()]);
    expect(await rememberedAfterRestart(dir)).toEqual({ keys: expectedKeys(1, 2), last: 2 });
  });

  it('deleted where it cannot be put back (the folder immutable): the change fails and is not kept; once it can, it is', async (context) => {
    const dir = await tempDir();
    revision = 0;
    const journal = await openJournal(dir);
    await journal.append([keyed()]);
    await rm(join(dir, JOURNAL_FILE));
    try {
      execFileSync('chattr', ['+i', dir], { stdio: 'ignore' });
    } catch {
      return context.skip('chattr +i is not supported here');
    }
    cleanups.push(() => execFileSync('chattr', ['-i', dir], { stdio: 'ignore' }));
    await expect(journal.append([keyed()])).rejects.toThrow();
    revision--;
    expect(journal.health()).toMatchObject({ ok: false, problem: expect.stringMatching(/^was deleted; could not be re-created/) });
    expect(journal.last()?.revision).toBe(1);

    execFileSync('chattr', ['-i', dir], { stdio: 'ignore' });
    await journal.check();
    expect(journal.health()).toMatchObject({ ok: true, recreated: { reason: 'was deleted' } });
    await journal.append([keyed()]);
    expect((await journal.recent(5)).map((e) => e.revision)).toEqual([2, 1]);
    expect(await rememberedAfterRestart(dir)).toEqual({ keys: expectedKeys(1, 2), last: 2 });
  });

  it('takes the lines of a change back out even after putting the journal back', async () => {
    const dir = await tempDir();
    revision = 0;
    const journal = await openJournal(dir);
    await journal.append([keyed()]);
    await rm(join(dir, JOURNAL_FILE));
    const undo = await journal.append([keyed()]);
    await undo();
    expect(journal.last()?.revision).toBe(1);
    expect(journal.keysInWindow()).toHaveLength(1);
    expect((await readFile(join(dir, JOURNAL_FILE), 'utf8')).trim().split('\n')).toHaveLength(1);
  });
});

describe('what stands in the journal\'s place at start-up', () => {
  it('a directory named like a segment is skipped with a warn, never read, and rotation goes past it', async () => {
    const dir = await tempDir();
    revision = 0;
    await mkdir(join(dir, `${JOURNAL_FILE}.99`));
    await writeFile(join(dir, `${JOURNAL_FILE}.3`), encodeEntry(keyed()));
    const { log, lines } = recordingLog();
    const journal = await openJournal(dir, { log, maxBytes: 10 });
    expect(lines).toContainEqual(expect.objectContaining({ level: 'warn', details: { file: `${JOURNAL_FILE}.99` } }));
    await journal.append([keyed()]);
    await journal.compact();
    expect((await readdir(dir)).filter((n) => n.startsWith(`${JOURNAL_FILE}.`)).sort()).toEqual([`${JOURNAL_FILE}.100`, `${JOURNAL_FILE}.3`, `${JOURNAL_FILE}.99`]);
    expect((await journal.recent(5)).map((e) => e.revision)).toEqual([2, 1]);
  });

  it('a directory in the journal\'s own place is moved aside (logged at error) and a new journal started', async () => {
    const dir = await tempDir();
    await mkdir(join(dir, JOURNAL_FILE));
    const { log, lines } = recordingLog();
    const journal = await openJournal(dir, { log });
    expect(lines.find((l) => l.level === 'error')?.msg).toMatch(/was not a file at start-up .* Idempotency-Keys it held are not remembered/);
    expect(journal.health()).toMatchObject({ ok: true, recreated: { reason: 'not a file at start-up' } });
    expect((await readdir(dir)).some((n) => n.startsWith(`${JOURNAL_FILE}.displaced-`))).toBe(true);
  });
});

describe('rotated segments under the running service', () => {
  it('a segment deleted by hand: its keys are put back from memory at the next look, and a restart remembers every one', async () => {
    const dir = await tempDir();
    revision = 0;
    const { log, lines } = recordingLog();
    const journal = await openJournal(dir, { log, maxBytes: 4096, keepSegments: 100 });
    for (let i = 0; i < 60; i++) {
      await journal.append([keyed()]);
      await journal.compact();
    }
    const segments = (await readdir(dir)).filter((name) => /\.\d+$/.test(name));
    expect(segments.length).toBeGreaterThan(1);
    for (const name of segments) await rm(join(dir, name));
    await journal.check();

    expect(lines.find((line) => line.level === 'error')?.details).toMatchObject({ problem: expect.stringMatching(/^lost its segment/) });
    await journal.close();
    expect(await rememberedAfterRestart(dir)).toEqual({ keys: expectedKeys(1, 60), last: 60 });
  });

  it('a directory made at the next segment number while running: rotation numbers past it', async () => {
    const dir = await tempDir();
    revision = 0;
    const journal = await openJournal(dir, { maxBytes: 4096, keepSegments: 100 });
    while (!(await readdir(dir)).includes(`${JOURNAL_FILE}.1`)) {
      await journal.append([keyed()]);
      await journal.compact();
    }
    await mkdir(join(dir, `${JOURNAL_FILE}.2`));
    for (let i = 0; i < 40; i++) {
      await journal.append([keyed()]);
      await journal.compact();
    }
    const names = await readdir(dir);
    expect(names).toContain(`${JOURNAL_FILE}.3`);
    expect((await readFile(join(dir, JOURNAL_FILE))).length).toBeLessThan(8192);
    await journal.close();
    expect((await rememberedAfterRestart(dir)).keys).toEqual(expectedKeys(1, revision));
  });
});
