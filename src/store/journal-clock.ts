// The journal's own clock: how old an entry is, judged along the journal's order rather than from
// its wall-clock `at` alone, so that a clock stepped backwards or forwards never ages a key early.

import { bootId } from './process-identity.ts';

/** Written with every entry (`"clock"`), besides the wall-clock `at` that people read. */
export interface Stamp {
  /**
   * Order time (ms): never less than the entry before's. Within one boot it advances by the
   * monotonic clock's elapsed time, which no clock step moves; otherwise to the wall clock, when later.
   */
  t: number;
  /** CLOCK_MONOTONIC at writing (ms since boot) and the boot it counts from; null when unknown. */
  mono: number | null;
  boot: string | null;
}

export interface Clocks {
  wall(): number;
  mono(): number;
  boot: string | null;
}

export async function systemClocks(wall: () => number = Date.now): Promise<Clocks> {
  return { wall, mono: () => Number(process.hrtime.bigint() / 1_000_000n), boot: (await bootId())?.slice(0, 8) ?? null };
}

/**
 * A monotonic reading is believed when it could be a real one: not before the last, and less than a
 * year after it. libfaketime fakes the monotonic clock too unless told not to, and a process run
 * under it reads values of another scale (decades apart). A wrong reading that is believed cannot age
 * a key early anyway: an age is the lesser of what the order time and the wall clock say (ageOf).
 */
const MONO_BELIEVED_MS = 366 * 24 * 60 * 60 * 1000;

/** The stamp of an entry written now, after one stamped `previous` (null: the first, or one without a stamp). */
export function advance(previous: Stamp | null, clocks: Clocks): Stamp {
  const wall = clocks.wall();
  const mono = clocks.mono();
  if (previous === null) return { t: wall, mono, boot: clocks.boot };
  const sameBoot = previous.boot !== null && previous.boot === clocks.boot && previous.mono !== null;
  const elapsed = sameBoot ? mono - (previous.mono as number) : null;
  const believed = elapsed !== null && elapsed >= 0 && elapsed <= MONO_BELIEVED_MS;
  return { t: believed ? previous.t + elapsed : Math.max(previous.t, wall), mono, boot: clocks.boot };
}

/**
 * How old an entry stamped `stamp` is now, given the journal's newest stamp. "Now" is the earlier of
 * the wall clock and the order time an entry written now would get: a key is forgotten only when
 * both say it is old. A clock that ran ahead for a while and came back leaves the order time ahead
 * (the wall clock is right); a clock still ahead at the next start is seen through by the monotonic
 * clock (the order time is right). The same `t` is subtracted from both, so ages never grow along
 * the journal's order: the newest entries are the youngest, and a backward read can stop at the first
 * entry that is too old.
 */
export function ageOf(stamp: Stamp, newest: Stamp | null, clocks: Clocks): number {
  return Math.max(0, Math.min(clocks.wall(), advance(newest, clocks).t) - stamp.t);
}

/** An entry written before stamps existed: its wall-clock time is all there is. */
export const unstamped = (at: string): Stamp => ({ t: Date.parse(at) || 0, mono: null, boot: null });
