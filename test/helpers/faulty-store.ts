// A store that fails on demand, for faults a real disk cannot produce at a chosen moment.

import type { BalanceRecord, BalanceStore } from '../../src/domain/ports.ts';

export class FaultyStore implements BalanceStore {
  private failures: { error: NodeJS.ErrnoException; skip: number; count: number } | null = null;

  constructor(private readonly real: BalanceStore) {}

  get name() {
    return this.real.name;
  }
  get role() {
    return this.real.role;
  }

  /** After `skip` more successful writes, the next `count` writes fail with `code`. */
  failWrites(code: string, { skip = 0, count = 1 } = {}): void {
    const error: NodeJS.ErrnoException = new Error(`${code}: injected fault`);
    error.code = code;
    this.failures = { error, skip, count };
  }

  read() {
    return this.real.read();
  }
  hasChanged() {
    return this.real.hasChanged();
  }
  async write(record: BalanceRecord): Promise<void> {
    if (this.failures && this.failures.skip > 0) this.failures.skip--;
    else if (this.failures && this.failures.count > 0) {
      this.failures.count--;
      throw this.failures.error;
    }
    return this.real.write(record);
  }
  quarantine() {
    return this.real.quarantine();
  }
  lastSeen() {
    return this.real.lastSeen();
  }
  fields() {
    return this.real.fields();
  }
}
