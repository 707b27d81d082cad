import { appendFile, readdir, readFile, utimes, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { Quarantine } from '../../src/store/quarantine.ts';
import { tempDir } from '../helpers/temp-dir.ts';
import { waitFor } from '../helpers/wait.ts';

const isJson = (text: string) => {
  try {
    JSON.parse(text);
    return true;
  } catch {
    return false;
  }
};

const ours = async () => true;
const someoneElses = async () => false;

/** A half-written file moved aside, and the file healed (from memory) after it: the heal is the newer. */
async function quarantined(windowMs = 5_000) {
  const dir = await tempDir();
  const target = join(dir, 'auto_trading_state.json');
  await writeFile(target, '{"balance": 1, "enab');
  const quarantine = new Quarantine(isJson, windowMs);
  const aside = await quarantine.moveAside(target);
  await writeFile(target, '{"balance": 1}');
  return { dir, target, aside, quarantine };
}

describe('quarantined copies of a stalled writer', () => {
  it('renames a copy the writer finished back over the file, although the heal was written after the write began', async () => {
    const { target, aside, quarantine } = await quarantined();
    expect(await quarantine.restoreFinished(ours)).toBeNull();
    await appendFile(aside, 'led": true}');
    expect(await quarantine.changed()).toBe(true);
    expect(await quarantine.restoreFinished(ours)).toBe(aside);
    expect(await readFile(target, 'utf8')).toBe('{"balance": 1, "enabled": true}');
    expect(await quarantine.changed()).toBe(false);
  });

  it('notices a copy the writer finished while it was being renamed aside', async () => {
    const { target, aside, quarantine } = await quarantined();
    await appendFile(aside, 'led": true}');
    await utimes(aside, new Date(Date.now() - 1_000), new Date(Date.now() - 1_000)); // finished before the heal
    expect(await quarantine.restoreFinished(ours)).toBe(aside);
    expect(JSON.parse(await readFile(target, 'utf8'))).toEqual({ balance: 1, enabled: true });
  });

  it('leaves a copy that stays garbage where it is once its window ends, and stops looking at it', async () => {
    const { dir, target, aside, quarantine } = await quarantined(100);
    await waitFor(() => quarantine.changed(), 1_000, 'the window to end');
    expect(await quarantine.restoreFinished(ours)).toBeNull();
    expect(await quarantine.changed()).toBe(false);
    expect(await readFile(aside, 'utf8')).toBe('{"balance": 1, "enab');
    expect(await readFile(target, 'utf8')).toBe('{"balance": 1}');
    expect((await readdir(dir)).length).toBe(2);
  });

  it("keeps another process's write to the file, made after the stalled write finished", async () => {
    const { target, aside, quarantine } = await quarantined();
    await appendFile(aside, 'led": true}');
    await utimes(aside, new Date(Date.now() - 500), new Date(Date.now() - 500));
    await writeFile(target, '{"balance": 2}');
    expect(await quarantine.restoreFinished(someoneElses)).toBeNull();
    expect(await readFile(target, 'utf8')).toBe('{"balance": 2}');
    expect(await readFile(aside, 'utf8')).toBe('{"balance": 1, "enabled": true}');
  });
});
