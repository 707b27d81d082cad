// The dedicated LISTEN connection: other hosts' commits pushed as they happen, reconnection by itself
// with a catch-up after each, and the probe that tells whether the database answers at all.

import pg from 'pg';
import type { Log } from '../../domain/ports.ts';
import { clientConfig, describe, sever, type ConnectionSettings } from './connection.ts';
import type { Reachability } from './reachability.ts';
import { revisionOf } from './rows.ts';

/** Every commit notifies this channel with `{"account", "revision"}`; accounts share it. */
export const CHANNEL = 'balance_sync';

/** Between failed attempts to reconnect: the SPEC asks for at least one every 2 s. */
const RETRY_MS = 1_000;
// A database that stops answering is reported within PROBE_EVERY_MS + PROBE_TIMEOUT_MS: inside 5 s.
const PROBE_EVERY_MS = 1_000;
const PROBE_TIMEOUT_MS = 1_500;

/** Called with a revision the database has committed: a hint to read from, never the data itself. */
export type RevisionListener = (revision: number) => void;

export class Listener {
  private client: pg.Client | null = null;
  /** Bumped by every connection attempt and every loss: late events of an older connection are ignored. */
  private generation = 0;
  private closed = false;
  private probing = false;
  private retryTimer: NodeJS.Timeout | undefined;
  private readonly probeTimer: NodeJS.Timeout;
  private readonly listeners = new Set<RevisionListener>();

  constructor(
    private readonly settings: ConnectionSettings,
    private readonly account: string,
    private readonly reachability: Reachability,
    private readonly log: Log,
  ) {
    reachability.onSuspect = () => void this.probe();
    this.probeTimer = setInterval(() => void this.probe(), PROBE_EVERY_MS);
  }

  /** Connects; resolves after the first attempt, whatever its outcome (the next ones follow by themselves). */
  start(): Promise<void> {
    return this.connect();
  }

  follow(listener: RevisionListener): () => void {
    this.listeners.add(listener);
    // Whatever committed before the caller listened is caught up at once.
    if (this.client) void this.catchUp(this.client, this.generation);
    return () => this.listeners.delete(listener);
  }

  async close(): Promise<void> {
    this.closed = true;
    this.generation += 1;
    clearInterval(this.probeTimer);
    clearTimeout(this.retryTimer);
    const client = this.client;
    this.client = null;
    await client?.end().catch(() => {});
  }

  private async connect(): Promise<void> {
    if (this.closed) return;
    const generation = ++this.generation;
    const client = new pg.Client(clientConfig(this.settings, '/listen'));
    client.on('error', (error) => this.lost(generation, client, error, false));
    client.on('end', () => this.lost(generation, client, new Error('the connection ended'), false));
    client.on('notification', (message) => {
      if (generation === this.generation) this.notified(message);
    });
    try {
      await client.connect();
      await client.query(`LISTEN ${CHANNEL}`);
    } catch (error) {
      this.lost(generation, client, error, true);
      return;
    }
    // Closed (or given up on) while connecting: this connection is nobody's.
    if (generation !== this.generation) return void client.end().catch(() => {});
    this.client = client;
    this.reachability.reachable();
    // After LISTEN, so nothing falls between: a commit before it is in this read, one after is notified.
    await this.catchUp(client, generation);
  }

  /**
   * A live connection that ends is replaced at once: only a failed attempt (or a probe without an
   * answer) makes the database unreachable, so a killed connection alone does not flap /health.
   */
  private lost(generation: number, client: pg.Client, error: unknown, unreachable: boolean): void {
    if (generation !== this.generation || this.closed) return;
    this.generation += 1;
    const wasLive = this.client === client;
    this.client = null;
    sever(client);
    if (unreachable || !wasLive) {
      this.reachability.unreachable(describe(error));
      this.retryTimer = setTimeout(() => void this.connect(), RETRY_MS);
    } else {
      this.log.info({ err: error }, 'the LISTEN connection to the balance database was lost; reconnecting');
      void this.connect();
    }
  }

  private async probe(): Promise<void> {
    const client = this.client;
    if (!client || this.probing) return;
    const generation = this.generation;
    this.probing = true;
    const timer = setTimeout(() => this.lost(generation, client, new Error(`no answer within ${PROBE_TIMEOUT_MS} ms`), true), PROBE_TIMEOUT_MS);
    try {
      await client.query('SELECT 1');
    } catch (error) {
      this.lost(generation, client, error, true);
    } finally {
      clearTimeout(timer);
      this.probing = false;
    }
  }

  private async catchUp(client: pg.Client, generation: number): Promise<void> {
    try {
      const { rows } = await client.query<{ revision: string }>('SELECT revision::text AS revision FROM balance_sync_accounts WHERE account = $1', [this.account]);
      if (rows[0] && generation === this.generation) this.tell(revisionOf(rows[0].revision));
    } catch (error) {
      this.lost(generation, client, error, false);
    }
  }

  private notified(message: pg.Notification): void {
    if (message.channel !== CHANNEL || !message.payload) return;
    // Anyone with access to the database can NOTIFY this channel: a payload that is not ours is ignored.
    let payload: { account?: unknown; revision?: unknown };
    try {
      payload = JSON.parse(message.payload) as typeof payload;
    } catch {
      return;
    }
    if (payload.account === this.account && Number.isSafeInteger(payload.revision)) this.tell(payload.revision as number);
  }

  private tell(revision: number): void {
    for (const listener of this.listeners) {
      try {
        listener(revision);
      } catch (error) {
        this.log.error({ err: error, revision }, 'a follower of the balance database failed');
      }
    }
  }
}
