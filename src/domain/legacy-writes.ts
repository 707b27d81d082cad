// What the service remembers of the balances other processes wrote into each file: what a legacy
// writer last knew (the booking rule), and which write was one seed-era save arriving in both files.

import type { Amount } from './amount.ts';

/** A legacy save writes both files, one after the other (either first): the second arrives within this. */
export const SAME_SAVE_MS = 1_000;

/** Revisions remembered per file: a writer that never re-reads carries one old revision for ever. */
const REVISIONS_KEPT = 256;

export interface OutsideWrite {
  balance: Amount;
  revision: number | null;
  mtimeMs: number;
}

export class LegacyWrites {
  private readonly byRevision = new Map<string, Map<number, Amount>>();
  private readonly latest = new Map<string, OutsideWrite>();
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

  /** Remembers a write, once it has been judged. */
  record(file: string, write: OutsideWrite): void {
    if (this.parent) this.recorded.push({ file, write });
    this.latest.set(file, write);
    if (write.revision === null) return;
    let revisions = this.byRevision.get(file);
    if (!revisions) this.byRevision.set(file, (revisions = new Map()));
    revisions.delete(write.revision);
    revisions.set(write.revision, write.balance);
    if (revisions.size > REVISIONS_KEPT) revisions.delete(revisions.keys().next().value as number);
  }
}
