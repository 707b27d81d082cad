// The least work SPEC requires for one change, measured on the same disk: one fsynced journal
// append, two atomic durable file writes of the same sizes, one directory fsync.

import { open } from 'node:fs/promises';
import { join } from 'node:path';
import writeFileAtomic from 'write-file-atomic';
import { fsyncDirectory } from '../src/store/durable-write.ts';

/** The floor, one change at a time: for taking turns with the service. */
export async function openDurableFloor(dir: string, sizes: { balanceFile: number; tradingFile: number }): Promise<{ once(): Promise<number>; close(): Promise<void> }> {
  const journal = await open(join(dir, 'floor.jsonl'), 'a');
  const line = Buffer.from(`${'x'.repeat(120)}\n`);
  const balanceText = 'b'.repeat(sizes.balanceFile);
  const tradingText = 't'.repeat(sizes.tradingFile);
  return {
    async once() {
      const started = performance.now();
      await journal.write(line);
      await journal.datasync();
      await writeFileAtomic(join(dir, 'floor-a.json'), balanceText, { fsync: true });
      await writeFileAtomic(join(dir, 'floor-b.json'), tradingText, { fsync: true });
      await fsyncDirectory(dir);
      return performance.now() - started;
    },
    close: () => journal.close(),
  };
}

/** One plain durable rewrite of a large state file, as a careful naive service would do it. */
export async function plainRewriteMs(path: string, rounds: number): Promise<number[]> {
  const { readFile } = await import('node:fs/promises');
  const samples: number[] = [];
  for (let i = 0; i < rounds; i++) {
    const started = performance.now();
    const state = JSON.parse(await readFile(path, 'utf8')) as Record<string, unknown>;
    state.balance = 1000 + i;
    await writeFileAtomic(path, JSON.stringify(state, null, 2), { fsync: true });
    samples.push(performance.now() - started);
  }
  return samples;
}
