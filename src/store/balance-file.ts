// Adapter over one legacy balance file: reads its balance, writes the keys the service owns,
// and keeps every other byte of the file as it found it.

import { realpath } from 'node:fs/promises';
import { basename } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { formatAmount, parseAmount, type Amount } from '../domain/amount.ts';
import { FileChangedError, type BalanceRecord, type BalanceStore, type FileRole, type Observation, type PreparedWrite } from '../domain/ports.ts';
import type { FileState } from '../domain/reconcile.ts';
import { stageFile } from './durable-write.ts';
import { JsonObjectText } from './json-object-text.ts';
import { Quarantine } from './quarantine.ts';
import { fingerprintOf, mtimeMsOf, readText, sameFingerprint, sameOwnership, type Fingerprint } from './text-file.ts';

/** The one top-level key the service adds to a file for itself. */
export const META_KEY = '_balance_sync';

export interface FileShape {
  role: FileRole;
  /** The trading state must be an object; the balance file may be a bare legacy number. */
  objectRequired: boolean;
  /** Keys besides `balance` and META_KEY that the service owns, as raw JSON texts. */
  ownedKeys(record: BalanceRecord): Record<string, string>;
}

/** The sidebar's file (`virtual_balance.json` by default). */
export const balanceFileShape: FileShape = {
  role: 'balance',
  objectRequired: false,
  ownedKeys: (record) => ({ last_updated: JSON.stringify(record.updatedAt) }),
};

/** The auto-trading panel's file (`auto_trading_state.json` by default). */
export const tradingStateShape: FileShape = {
  role: 'trading',
  objectRequired: true,
  ownedKeys: () => ({}),
};

// Only a file that does not parse waits: long enough for a slow legacy writer between two writes,
// since quarantining a write in progress would lose it; bounded for one that never stops.
const SETTLE_QUIET_MS = 250;
const SETTLE_MAX_MS = 2_000;

type Parsed = { state: FileState; doc: JsonObjectText | null; fields: Record<string, unknown> | null };

interface Known {
  doc: JsonObjectText | null;
  fields: Record<string, unknown>;
  balance: Amount | null;
  text: string | null;
  ownText: string | null;
}

export class BalanceFile implements BalanceStore {
  readonly name: string;
  readonly role: FileRole;
  private doc: JsonObjectText | null = null;
  private docFields: Record<string, unknown> = {};
  private seen: Fingerprint | null = null;
  private seenBalance: Amount | null = null;
  private ownText: string | null = null;
  /** The whole text of the version last read or written (null: there was no file). */
  private text: string | null = null;
  private readonly quarantined: Quarantine;
  /** Where the file really is: writes replace the file a symlink points to, not the link. */
  private realPath: string;

  constructor(
    readonly path: string,
    private readonly shape: FileShape,
  ) {
    this.name = basename(path);
    this.role = shape.role;
    this.quarantined = new Quarantine((text) => 'value' in this.decode(text));
    this.realPath = path;
  }

  async read(): Promise<Observation> {
    // A stalled writer that finished in a quarantined copy: its write is the file's newest version.
    const restoredFrom = await this.quarantined.restoreFinished(async () => !(await this.targetChanged()));
    let observed = await this.readOnce();
    if (observed.state.status === 'corrupt') {
      // Legacy writers truncate then write: give a half-written file the chance to finish.
      await this.settle();
      observed = await this.readOnce();
    }
    return restoredFrom ? { ...observed, restoredFrom } : observed;
  }

  async hasChanged(): Promise<boolean> {
    return (await this.targetChanged()) || (await this.quarantined.changed());
  }

  async prepare(record: BalanceRecord): Promise<PreparedWrite> {
    const owned = {
      balance: formatAmount(record.balance),
      ...this.shape.ownedKeys(record),
      [META_KEY]: JSON.stringify({ revision: record.revision, updated_at: record.updatedAt }),
    };
    const doc = this.doc ? this.doc.with(owned) : JsonObjectText.create(owned);
    const before = this.known();
    const write = await this.stage(doc.text, () => this.remember({ ...before, doc, text: doc.text, ownText: doc.text, balance: record.balance }));
    return {
      ...write,
      revert: async (fallback) => {
        // The file's own previous text: an outside edit it held is read (and adopted) again, not lost.
        if (before.text === null) return (await this.prepare(fallback)).commit();
        await (await this.stage(before.text, () => this.remember(before))).commit();
      },
    };
  }

  async quarantine(): Promise<string> {
    const aside = await this.quarantined.moveAside(this.realPath);
    this.seen = null;
    this.seenBalance = null;
    this.text = null;
    return aside;
  }

  lastSeen(): { balance: Amount | null; mtimeMs: number | null } {
    return { balance: this.seenBalance, mtimeMs: this.seen ? mtimeMsOf(this.seen) : null };
  }

  fields(): Readonly<Record<string, unknown>> {
    return this.docFields;
  }

  /** A new text, fsynced beside the file; in place only after a last look finds the file as last seen. */
  private async stage(text: string, placed: () => void): Promise<Omit<PreparedWrite, 'revert'>> {
    const staged = await stageFile(this.realPath, text, this.seen);
    return {
      commit: async () => {
        // An outside edit since the last read must be adopted, not overwritten.
        const now = await fingerprintOf(this.path);
        if (!sameFingerprint(now, this.seen)) {
          await staged.discard();
          throw new FileChangedError(this.name);
        }
        // Someone changed only its mode or owner since it was read: the new version keeps theirs.
        const reowned = now && this.seen && !sameOwnership(now, this.seen) ? now : null;
        try {
          if (reowned) await staged.own(reowned);
          await staged.commit();
        } catch (error) {
          await staged.discard();
          throw error;
        }
        const { mode, uid, gid } = reowned ?? staged.fingerprint;
        this.seen = { ...staged.fingerprint, mode, uid, gid };
        placed();
      },
      discard: () => staged.discard(),
    };
  }

  /** What the store knows of the file's current version. */
  private known(): Known {
    return { doc: this.doc, fields: this.docFields, balance: this.seenBalance, text: this.text, ownText: this.ownText };
  }

  private remember(known: Known): void {
    ({ doc: this.doc, fields: this.docFields, balance: this.seenBalance, text: this.text, ownText: this.ownText } = known);
  }

  private async targetChanged(): Promise<boolean> {
    return !sameFingerprint(await fingerprintOf(this.path), this.seen);
  }

  private async readOnce(): Promise<Observation> {
    this.realPath = await realpath(this.path).catch(() => this.path);
    const read = await readText(this.path);
    this.seen = read?.fingerprint ?? null;
    this.seenBalance = null;
    this.text = read?.text ?? null;
    if (!read) return { state: { status: 'missing' }, isOwnWrite: false };

    const isOwnWrite = read.text === this.ownText;
    const { state, doc, fields } = this.parse(read.text, read.fingerprint);
    if (state.status === 'valid') this.seenBalance = state.balance;
    if (doc && fields) {
      this.doc = doc;
      this.docFields = fields;
    }
    return { state, isOwnWrite };
  }

  /** The file's JSON value, or why it is corrupt: not JSON, or (the trading state) not an object. */
  private decode(text: string): { value: unknown } | { corrupt: string } {
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch (error) {
      return { corrupt: `not JSON (${(error as Error).message})` };
    }
    return this.shape.objectRequired && !isObject(value) ? { corrupt: 'not a JSON object' } : { value };
  }

  private parse(text: string, fingerprint: Fingerprint): Parsed {
    const decoded = this.decode(text);
    if ('corrupt' in decoded) return { state: { status: 'corrupt', reason: decoded.corrupt }, doc: null, fields: null };
    const { value } = decoded;
    if (!isObject(value)) {
      // The legacy balance file may hold a bare number.
      const bare = parseAmount(value, { round: true });
      const state: FileState = bare.ok
        ? { status: 'valid', balance: bare.value, mtimeMs: mtimeMsOf(fingerprint), revision: null }
        : { status: 'no-balance', revision: null };
      return { state, doc: null, fields: null };
    }

    const { [META_KEY]: meta, ...fields } = value;
    const revision = revisionOf(meta);
    const balance = parseAmount(fields.balance, { round: true });
    const state: FileState = balance.ok
      ? { status: 'valid', balance: balance.value, mtimeMs: mtimeMsOf(fingerprint), revision }
      : { status: 'no-balance', revision };
    return { state, doc: JsonObjectText.index(text), fields };
  }

  /** Waits until the file has not changed for a short quiet period (or a bounded time has passed). */
  private async settle(): Promise<void> {
    let last = await fingerprintOf(this.path);
    let quietSince = Date.now();
    const deadline = quietSince + SETTLE_MAX_MS;
    while (Date.now() - quietSince < SETTLE_QUIET_MS && Date.now() < deadline) {
      await sleep(20);
      const now = await fingerprintOf(this.path);
      if (!sameFingerprint(now, last)) {
        last = now;
        quietSince = Date.now();
      }
    }
  }
}

const isObject = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null && !Array.isArray(value);

function revisionOf(meta: unknown): number | null {
  const revision = (meta as { revision?: unknown } | null)?.revision;
  return Number.isSafeInteger(revision) && (revision as number) >= 0 ? (revision as number) : null;
}
