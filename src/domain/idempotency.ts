// Remembers acknowledged Idempotency-Keys for a bounded window, so a retried POST is answered, not re-applied.

import type { Snapshot } from './change.ts';
import type { JournalEntry } from './ports.ts';

export const IDEMPOTENCY_WINDOW_MS = 24 * 60 * 60 * 1000;

interface Remembered {
  requestHash: string;
  snapshot: Snapshot;
  atMs: number;
}

export class IdempotencyMemory {
  // Insertion order is time order, so expiry only ever looks at the front.
  private readonly keys = new Map<string, Remembered>();

  constructor(private readonly now: () => number) {}

  /** Rebuilds the memory from journal entries (any order). */
  restore(entries: Iterable<JournalEntry>): void {
    const withKeys = [...entries].filter((e) => e.idempotency_key !== undefined && e.request_hash !== undefined);
    withKeys.sort((a, b) => a.revision - b.revision);
    for (const entry of withKeys) {
      this.remember(entry.idempotency_key as string, entry.request_hash as string, {
        balance: entry.balance,
        revision: entry.revision,
        updatedAt: entry.at,
      });
    }
  }

  find(key: string): Remembered | undefined {
    this.expire();
    return this.keys.get(key);
  }

  remember(key: string, requestHash: string, snapshot: Snapshot): void {
    this.keys.delete(key);
    this.keys.set(key, { requestHash, snapshot, atMs: Date.parse(snapshot.updatedAt) });
    this.expire();
  }

  private expire(): void {
    const cutoff = this.now() - IDEMPOTENCY_WINDOW_MS;
    for (const [key, value] of this.keys) {
      if (value.atMs >= cutoff) return;
      this.keys.delete(key);
    }
  }
}
