// A store that fails on demand, for faults a real disk cannot produce at a chosen moment.

import type { BalanceRecord, BalanceStore, PreparedWrite } from '../../src/domain/ports.ts';

/**
 * `prepare`: writing the new version fails (disk full, EIO); `fsync`: making a new version prepared with
 * its fsync left for later durable fails (an I/O error the disk reports late; the shared truth's saves);
 * `commit`: putting it in place fails (the rename).
 */
export type WritePhase = 'prepare' | 'fsync' | 'commit';

export class FaultyStore implements BalanceStore {
  private failures: { error: NodeJS.ErrnoException; skip: number; count: number; phase: WritePhase } | null = null;
  private readFailure: NodeJS.ErrnoException | null = null;

  constructor(private readonly real: BalanceStore) {}

  get name() {
    return this.real.name;
  }
  get role() {
    return this.real.role;
  }

  /** After `skip` more successful writes, the next `count` writes fail with `code`, in `phase`. */
  failWrites(code: string, { skip = 0, count = 1, phase = 'prepare' as WritePhase } = {}): void {
    const error: NodeJS.ErrnoException = new Error(`${code}: injected fault`);
    error.code = code;
    this.failures = { error, skip, count, phase };
  }

  /** Reads fail with `code` until called again with null (a file another user made unreadable). */
  failReads(code: string | null): void {
    this.readFailure = code === null ? null : Object.assign(new Error(`${code}: injected fault`), { code });
  }

  read() {
    if (this.readFailure) return Promise.reject(this.readFailure);
    return this.real.read();
  }
  hasChanged() {
    return this.real.hasChanged();
  }
  async prepare(record: BalanceRecord, options?: { deferFsync?: boolean }): Promise<PreparedWrite> {
    const failure = this.nextWriteFails();
    if (failure?.phase === 'prepare') throw failure.error;
    const real = await this.real.prepare(record, options);
    // Putting the file back is one more write, which may fail too.
    const revert = async (fallback: BalanceRecord) => {
      const fault = this.nextWriteFails();
      if (fault) throw fault.error;
      await real.revert(fallback);
    };
    if (!failure) return { ...real, revert };
    // Only the fsync asked for fails (a prepare told to leave it for later): the rename itself would work.
    if (failure.phase === 'fsync') return { ...real, revert, fsync: () => Promise.reject(failure.error) };
    return {
      lastLook: (options) => real.lastLook(options),
      fsync: () => real.fsync(),
      commit: async () => {
        await real.discard();
        throw failure.error;
      },
      discard: () => real.discard(),
      revert,
    };
  }
  strayWrites() {
    return this.real.strayWrites();
  }
  keepCopy() {
    return this.real.keepCopy();
  }
  close() {
    this.real.close?.();
  }
  lastSeen() {
    return this.real.lastSeen();
  }
  fields() {
    return this.real.fields();
  }

  private nextWriteFails() {
    if (!this.failures) return null;
    if (this.failures.skip > 0) {
      this.failures.skip--;
      return null;
    }
    if (this.failures.count <= 0) return null;
    this.failures.count--;
    return this.failures;
  }
}
