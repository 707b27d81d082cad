// What the service remembers of the balances other processes wrote into each file: what a legacy
// writer last knew (the booking rule), and which write was one seed-era save arriving in both files.

import type { Amount } from './amount.ts';

/** A legacy save writes both files, one after the other (either first): the second arrives within this. */
export const SAME_SAVE_MS = 1_000;

/** Revisions remembered per file: a writer that never re-reads carries one old revision for ever. */
const REVISIONS_KEPT = 256;

/** Versions remembered per file as judged: a replaced version is offered again for a few batches at most. */
const JUDGED_KEPT = 16;

export interface OutsideWrite {
  balance: Amount;
  revision: number | null;
  mtimeMs: number;
}

export class LegacyWrites {
  private readonly byRevision = new Map<string, Map<number, Amount>>();
  private readonly latest = new Map<string, OutsideWrite>();
  /** The writes judged lately, per file: the same version offered again is not judged twice. */
  private readonly judged = new Map<string, OutsideWrite[]>();
  private readonly recorded: { file: string; write: OutsideWrite }[] = [];

  private constructor(private readonly parent: LegacyWrites | null) {}

  static empty(): LegacyWrites {
    return new LegacyWrites(null);
  }

  /**
   * What one try at a batch records, on top of this memory: kept only once the batch is committed
   * (keep()). A batch sent round again judges the same writes again, against the same memory.
   */
  draft(): LegacyWrites {
    return new LegacyWrites(this);
  }

  /** Makes a draft's records this memory's own. */
  keep(): void {
    for (const { file, write } of this.recorded.splice(0)) this.parent?.record(file, write);
  }

  /** The balance last written into `file` by another process carrying `revision`, if remembered. */
  lastWritten(file: string, revision: number | null): Amount | null {
    if (revision === null) return null;
    return this.byRevision.get(file)?.get(revision) ?? this.parent?.lastWritten(file, revision) ?? null;
  }

  /**
   * The other file whose latest outside write holds this same balance, made within SAME_SAVE_MS of
   * this one: the same booking arriving twice (a seed-era save writes both files), to count once.
   */
  sameSaveAs(file: string, write: OutsideWrite): string | null {
    for (const [other, latest] of this.latest) {
      if (other !== file && latest.balance === write.balance && Math.abs(latest.mtimeMs - write.mtimeMs) <= SAME_SAVE_MS) return other;
    }
    return this.parent?.sameSaveAs(file, write) ?? null;
  }

  /**
   * Whether this very version (balance, revision and time) was judged already. A write found in a
   * replaced version is offered at every look until a write of the file holds it (balance-file.ts), so
   * a committed batch's next batches meet it again: judged again, it was "refused" as a stale copy of
   * itself (a false warn), or, once a later write of the same revision was remembered, booked again
   * against that one (and that one again against it: two bookings that cancel out).
   */
  judgedBefore(file: string, write: OutsideWrite): boolean {
    const same = (w: OutsideWrite) => w.balance === write.balance && w.revision === write.revision && w.mtimeMs === write.mtimeMs;
    return (this.judged.get(file)?.some(same) ?? false) || (this.parent?.judgedBefore(file, write) ?? false);
  }

  /** Remembers a write, once it has been judged. */
  record(file: string, write: OutsideWrite): void {
    if (this.parent) this.recorded.push({ file, write });
    this.latest.set(file, write);
    const judged = this.judged.get(file) ?? [];
    this.judged.set(file, [...judged.slice(-(JUDGED_KEPT - 1)), write]);
    if (write.revision === null) return;
    let revisions = this.byRevision.get(file);
    if (!revisions) this.byRevision.set(file, (revisions = new Map()));
    revisions.delete(write.revision);
    revisions.set(write.revision, write.balance);
    if (revisions.size > REVISIONS_KEPT) revisions.delete(revisions.keys().next().value as number);
  }
}
