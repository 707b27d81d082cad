// Adapter over one legacy balance file: reads what it holds (decoding: file-decoding.ts), writes the
// keys the service owns into it atomically, keeps every other byte, and loses no write of another process.

import { randomBytes } from 'node:crypto';
import { lstat, readlink, realpath, stat, unlink } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import { formatAmount, type Amount } from '../domain/amount.ts';
import { FileChangedError, type BalanceRecord, type BalanceStore, type FileRole, type Observation, type PreparedWrite, type StrayWrites } from '../domain/ports.ts';
import { keepCorruptCopy } from './corrupt-copy.ts';
import { mergeFields, same } from './field-merge.ts';
import { decode, encode, isWhole, META_KEY, type Decoded, type FileShape } from './file-decoding.ts';
import type { JsonObjectText } from './json-object-text.ts';
import { stageOver } from './guarded-rename.ts';
import { ReplacedVersions, type CorruptCopy } from './replaced-versions.ts';
import { readSettled } from './settle.ts';
import { fingerprintOf, kindOfSpecial, mtimeMsOf, sameFingerprint, type Fingerprint } from './text-file.ts';

export { balanceFileShape, META_KEY, tradingStateShape, type FileShape } from './file-decoding.ts';

/** Own writes whose fields are remembered: a legacy writer's read-modify-write spans a few saves at most. */
const OWN_WRITES_KEPT = 32;

/** What the service serves of the file: the fields it keeps, and what the version in place holds. */
interface Known {
  doc: JsonObjectText | null;
  fields: Record<string, unknown>;
  /**
   * The fields served: those of a version on disk (the one in place, or an outside write read there).
   * A stray write's fields are served once a write has put them in place — a crash before that would
   * otherwise take back what had been shown.
   */
  served: Record<string, unknown>;
  bom: boolean;
  /** The balance of the version in place, if valid. */
  balance: Amount | null;
  /** The whole text of the version in place (null: there was no file). */
  text: string | null;
  /**
   * Writes found in replaced versions that the version in place does not hold yet: offered again at
   * every look (a batch sent round again judges them again) until a write of the file places them.
   */
  strays: Observation[];
}

export class BalanceFile implements BalanceStore {
  readonly name: string;
  readonly role: FileRole;
  private known: Known = { doc: null, fields: {}, served: {}, bom: false, balance: null, text: null, strays: [] };
  /** The version in place as last read or written: the last look before a rename compares with it. */
  private seen: Fingerprint | null = null;
  /** The service's own last write, byte for byte: reading it back is no outside edit. */
  private ownText: string | null = null;
  /** The time of the outside version the fields came from: an older stray write does not take them over. */
  private fieldsAt = Number.NEGATIVE_INFINITY;
  /**
   * The service's own recent writes, by the id each carries (`_balance_sync.write`): their order and
   * fields, what a writer that read one of them saw. Not by revision: a write that changes no balance
   * (a heal, a merge) keeps the revision, so a revision does not name one version.
   */
  private readonly ownWrites = new Map<string, { order: number; fields: Readonly<Record<string, unknown>> }>();
  private writes = 0;
  /**
   * Fields a stray write changed, with the order of the first own write that holds them (Infinity
   * until one does): a writer that read an older version never saw them.
   */
  private readonly strayKeys = new Map<string, number>();
  /** A `.corrupt-` copy of the version in place, handed on with it when a rename replaces it. */
  private copyOfCurrent: CorruptCopy | null = null;
  /** Copies of writes that finished after all: removed once the file holds what they held. */
  private mergedCopies: string[] = [];
  private readonly replaced = new ReplacedVersions();
  private readonly dir: string;
  /** Where the file really is: writes replace the file a symlink points to, not the link. */
  private realPath: string;

  constructor(
    readonly path: string,
    private readonly shape: FileShape,
  ) {
    this.name = basename(path);
    this.role = shape.role;
    this.dir = dirname(path);
    this.realPath = path;
  }

  async read(): Promise<Observation> {
    // A link is written through, a dangling one too (the link stays, its target is created).
    this.realPath = await realpath(this.path).catch(async () => (await danglingTarget(this.path)) ?? this.path);
    const read = await readSettled(this.path, (text) => isWhole(this.shape, text));
    const sameVersion = read !== null && this.seen !== null && read.fingerprint.ino === this.seen.ino;
    this.seen = read?.fingerprint ?? null;
    if (!read) {
      this.known = { ...this.known, balance: null, text: null };
      return { state: { status: 'missing' }, isOwnWrite: false };
    }
    const decoded = read.special
      ? ({ state: { status: 'corrupt', reason: `not a regular file (${read.special})` }, doc: null, fields: null, bom: false, writeId: null } as const)
      : decode(this.shape, read.text, mtimeMsOf(read.fingerprint));
    const isOwnWrite = read.text === this.ownText;
    this.known = { ...this.known, balance: decoded.state.status === 'valid' ? decoded.state.balance : null, text: read.text };
    if (!isOwnWrite) this.takeFields(decoded, mtimeMsOf(read.fingerprint));
    if (this.known.strays.length === 0) this.known.served = this.known.fields;
    // A half-written file copied aside, then finished in place before it was healed: nothing corrupt to keep.
    if (this.copyOfCurrent?.removable && sameVersion && decoded.state.status !== 'corrupt') {
      await unlink(join(this.dir, this.copyOfCurrent.name)).catch(() => {});
      this.copyOfCurrent = null;
    }
    if (!sameVersion) this.copyOfCurrent = null;
    return { state: decoded.state, isOwnWrite };
  }

  async hasChanged(): Promise<boolean> {
    return !sameFingerprint(await fingerprintOf(this.path), this.seen) || (await this.replaced.changed());
  }

  async strayWrites(): Promise<StrayWrites> {
    const { finished, kept } = await this.replaced.collect(
      (text) => isWhole(this.shape, text),
      (bytes) => keepCorruptCopy(this.dir, this.name, { bytes }),
    );
    const found = finished.map(({ text, fingerprint, copy }): Observation => {
      const decoded = decode(this.shape, text, mtimeMsOf(fingerprint));
      for (const [key, value] of Object.entries(decoded.fields ?? {})) if (!same(value, this.known.fields[key])) this.strayKeys.set(key, Number.POSITIVE_INFINITY);
      this.takeFields(decoded, mtimeMsOf(fingerprint));
      if (copy?.removable) this.mergedCopies.push(copy.name);
      return { state: decoded.state, isOwnWrite: false };
    });
    // The version in place does not hold these writes: the next save writes them (their balances as judged).
    this.known = { ...this.known, strays: [...this.known.strays, ...found] };
    return { finished: this.known.strays, kept };
  }

  async prepare(record: BalanceRecord, options: { deferFsync?: boolean } = {}): Promise<PreparedWrite> {
    const writeId = randomBytes(6).toString('base64url');
    const owned = {
      balance: formatAmount(record.balance),
      ...this.shape.ownedKeys(record),
      [META_KEY]: JSON.stringify({ revision: record.revision, updated_at: record.updatedAt, write: writeId }),
    };
    const { doc, text } = encode(this.known.doc, owned, this.known.bom);
    const before = { known: this.known, ownText: this.ownText };
    const write = await this.stage(text, options, () => {
      this.known = { ...this.known, doc, text, balance: record.balance, strays: [], served: this.known.fields };
      this.ownText = text;
      const order = ++this.writes;
      this.ownWrites.set(writeId, { order, fields: this.known.fields });
      for (const [key, since] of this.strayKeys) if (since === Number.POSITIVE_INFINITY) this.strayKeys.set(key, order);
      if (this.ownWrites.size > OWN_WRITES_KEPT) this.ownWrites.delete(this.ownWrites.keys().next().value as string);
      // Every write a removable copy held is in the file now.
      for (const copy of this.mergedCopies.splice(0)) void unlink(join(this.dir, copy)).catch(() => {});
    });
    return {
      ...write,
      revert: async (fallback) => {
        try {
          // The file's own previous text: an outside edit it held is read (and adopted) again, not lost.
          if (before.known.text === null) return await (await this.prepare(fallback)).commit();
          await (
            await this.stage(before.known.text, {}, () => {
              ({ known: this.known, ownText: this.ownText } = before);
            })
          ).commit();
        } catch (error) {
          // Another process wrote the file since: nothing of this write is left in it to take back.
          if (!(error instanceof FileChangedError)) throw error;
          ({ known: this.known, ownText: this.ownText } = before);
        }
      },
    };
  }

  async keepCopy(): Promise<string> {
    // Looked at again (a batch sent round again): the copy of this version is kept already.
    if (this.copyOfCurrent) return this.copyOfCurrent.name;
    const name = await keepCorruptCopy(this.dir, this.name, { path: this.realPath });
    // A broken version may be a write in progress: its copy goes once the write is whole.
    // An unreadable balance is a whole write: its copy stays.
    const broken = this.known.text === null || !isWhole(this.shape, this.known.text);
    this.copyOfCurrent = { name, removable: broken };
    this.known = { ...this.known, balance: null };
    return name;
  }

  lastSeen(): { balance: Amount | null; mtimeMs: number | null } {
    return { balance: this.known.strays.length > 0 ? null : this.known.balance, mtimeMs: this.seen ? mtimeMsOf(this.seen) : null };
  }

  fields(): Readonly<Record<string, unknown>> {
    return this.known.served;
  }

  /** Lets go of the replaced versions it holds open. */
  close(): void {
    this.replaced.releaseAll();
  }

  /**
   * The fields of an outside version: newest wins — except over fields a stray write brought in that
   * its writer never saw (it read an older own version, still remembered): those are merged (field-merge.ts).
   */
  private takeFields(decoded: Decoded, mtimeMs: number): void {
    if (!decoded.doc || !decoded.fields) return;
    const base = decoded.writeId === null ? undefined : this.ownWrites.get(decoded.writeId);
    const unseen = new Set([...this.strayKeys].filter(([, since]) => base === undefined || since > base.order).map(([key]) => key));
    for (const [key, since] of this.strayKeys) if (base !== undefined && since <= base.order) this.strayKeys.delete(key);
    if (base !== undefined && unseen.size > 0 && this.known.doc) {
      const { doc, fields } = mergeFields({ doc: this.known.doc, fields: this.known.fields }, base.fields, { doc: decoded.doc, fields: decoded.fields }, unseen);
      this.known = { ...this.known, doc, fields, bom: decoded.bom };
      this.fieldsAt = Math.max(this.fieldsAt, mtimeMs);
      return;
    }
    if (mtimeMs < this.fieldsAt) return;
    this.known = { ...this.known, doc: decoded.doc, fields: decoded.fields, bom: decoded.bom };
    this.fieldsAt = mtimeMs;
  }

  /**
   * A symlinked data file is written through — unless what it points to is not a regular file: a new
   * version renamed over /dev/zero, or a FIFO elsewhere, would replace that very thing outside the
   * data folder. Such a file cannot be written (a fault, named in /health) until the link is mended.
   */
  private async refuseSpecialTarget(): Promise<void> {
    if (this.realPath === this.path) return;
    const target = await stat(this.realPath).catch(() => null);
    if (target && !target.isFile()) {
      const what = target.isDirectory() ? 'a directory' : (kindOfSpecial(target) ?? 'not a file');
      throw new Error(`${this.name} is a link to ${this.realPath}, which is ${what}, not a file: it is not written through`);
    }
  }

  /** A new text, fsynced beside the file, put in place by guarded-rename.ts. */
  private async stage(text: string, options: { deferFsync?: boolean }, placed: () => void): Promise<Omit<PreparedWrite, 'revert'>> {
    await this.refuseSpecialTarget();
    const at = () => ({ name: this.name, path: this.realPath, seen: this.seen, copy: this.copyOfCurrent });
    return stageOver(
      at,
      this.replaced,
      text,
      (seen) => {
        this.seen = seen;
        this.copyOfCurrent = null;
        placed();
      },
      options,
    );
  }
}

/** Where a symlink that points at nothing (yet) points, or null when `path` is no such link. */
async function danglingTarget(path: string): Promise<string | null> {
  const info = await lstat(path).catch(() => null);
  if (!info?.isSymbolicLink()) return null;
  return resolve(dirname(path), await readlink(path));
}
