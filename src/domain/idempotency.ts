// Remembers acknowledged Idempotency-Keys for a bounded window, so a retried POST is answered, not re-applied.

import type { Snapshot } from './change.ts';
import type { RememberedKey } from './ports.ts';

export const IDEMPOTENCY_WINDOW_MS = 24 * 60 * 60 * 1000;

interface Remembered {
  requestHash: string;
  snapshot: Snapshot;
  /** When it was made, on the monotonic clock: no step of the wall clock ages a key. */
  bornMs: number;
}

export class IdempotencyMemory {
  // Insertion order is time order, so expiry only ever looks at the front.
  private readonly keys = new Map<string, Remembered>();

  /** `monotonic`: a clock no wall-clock step moves (performance.now). */
  constructor(private readonly monotonic: () => number = () => performance.now()) {}

  /** Rebuilds the memory from the journal's keys, each as old as the journal judged it (any order). */
  restore(remembered: Iterable<RememberedKey>): void {
    const withKeys = [...remembered].filter(({ entry }) => entry.idempotency_key !== undefined && entry.request_hash !== undefined);
    withKeys.sort((a, b) => a.entry.revision - b.entry.revision);
    for (const { entry, ageMs } of withKeys) {
      const snapshot = { balance: entry.balance, revision: entry.revision, updatedAt: entry.at };
      this.keys.delete(entry.idempotency_key as string);
      this.keys.set(entry.idempotency_key as string, { requestHash: entry.request_hash as string, snapshot, bornMs: this.monotonic() - ageMs });
    }
    this.expire();
  }

  find(key: string): Remembered | undefined {
    this.expire();
    return this.keys.get(key);
  }

  remember(key: string, requestHash: string, snapshot: Snapshot): void {
    this.keys.delete(key);
    this.keys.set(key, { requestHash, snapshot, bornMs: this.monotonic() });
    this.expire();
  }

  private expire(): void {
    const cutoff = this.monotonic() - IDEMPOTENCY_WINDOW_MS;
    for (const [key, value] of this.keys) {
      if (value.bornMs >= cutoff) return;
      this.keys.delete(key);
    }
  }
}
