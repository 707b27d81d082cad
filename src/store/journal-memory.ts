// What the journal keeps in memory to re-create itself: every entry with an Idempotency-Key inside
// the 24 h window (the answer it gave, its request hash), oldest first. The newest entry (the current
// balance) is kept beside it by the journal.

import type { JournalEntry } from '../domain/ports.ts';
import type { Stamp } from './journal-clock.ts';

export interface Stamped {
  entry: JournalEntry;
  stamp: Stamp;
}

export class KeyWindow {
  private items: Stamped[] = [];
  /** Expired items at the front not yet cut away: cutting in bulk keeps each append O(1). */
  private head = 0;

  get size(): number {
    return this.items.length - this.head;
  }

  /** Adds the keyed ones among `items` (in the journal's order). */
  add(items: readonly Stamped[]): void {
    for (const item of items) if (item.entry.idempotency_key !== undefined) this.items.push(item);
  }

  /** Takes back everything added after the window had `size` items (an append undone). */
  truncate(size: number): void {
    this.items.length = this.head + size;
  }

  /** Forgets the oldest while `isOld` says so: ages never grow along the order, so the rest are younger. */
  expire(isOld: (stamp: Stamp) => boolean): void {
    while (this.head < this.items.length && isOld((this.items[this.head] as Stamped).stamp)) this.head++;
    if (this.head > 1024 && this.head * 2 > this.items.length) {
      this.items = this.items.slice(this.head);
      this.head = 0;
    }
  }

  all(): Stamped[] {
    return this.items.slice(this.head);
  }
}
