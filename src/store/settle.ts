// Reading a file a legacy writer may be half-way through: legacy writers truncate, then write, so a
// version that does not parse is read again as it changes, and judged only once it has stopped.

import { setTimeout as sleep } from 'node:timers/promises';
import { fingerprintOf, readText, sameFingerprint, type TextRead } from './text-file.ts';

// Long enough for a slow legacy writer between two writes, since quarantining a write in progress
// would cost it a detour; bounded for one that never stops.
const SETTLE_QUIET_MS = 250;
const SETTLE_MAX_MS = 2_000;
const POLL_MS = 10;

/**
 * The file's text once it is whole, or once it has not changed for a quiet period (or a bounded time
 * has passed) while still broken. A whole version returns at once: a writer that finishes a moment
 * after the first look costs that moment, not the quiet period.
 */
export async function readSettled(path: string, isWhole: (text: string) => boolean): Promise<TextRead> {
  let read = await readText(path);
  if (read === null || isWhole(read.text)) return read;
  const deadline = Date.now() + SETTLE_MAX_MS;
  let quietSince = Date.now();
  while (Date.now() - quietSince < SETTLE_QUIET_MS && Date.now() < deadline) {
    await sleep(POLL_MS);
    if (sameFingerprint(await fingerprintOf(path), read?.fingerprint ?? null)) continue;
    read = await readText(path);
    if (read === null || isWhole(read.text)) return read;
    quietSince = Date.now();
  }
  return read;
}
