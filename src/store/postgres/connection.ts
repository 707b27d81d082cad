// Connections to PostgreSQL: the session every connection gets, and what a failure says about the link.

import pg from 'pg';
import { PostgresUnavailableError } from './errors.ts';

export interface ConnectionSettings {
  url: string;
  applicationName: string;
}

/** A connection attempt that gets no answer by then has failed: well inside the 5 s a change may take. */
export const CONNECT_TIMEOUT_MS = 2_000;

/**
 * A transaction left open by a host that vanished (power cut, network split) holds the account's row
 * lock until the server gives up on it; every other host's changes wait behind it meanwhile. Our own
 * transactions are never idle for more than the time a pure decision takes.
 */
export const IDLE_IN_TRANSACTION_MS = 2_000;

export function clientConfig(settings: ConnectionSettings, suffix = ''): pg.ClientConfig {
  return {
    connectionString: settings.url,
    // Named, so an operator (and the fault tests) can tell a host's connections apart in pg_stat_activity.
    application_name: `${settings.applicationName}${suffix}`.slice(0, 63),
    connectionTimeoutMillis: CONNECT_TIMEOUT_MS,
    keepAlive: true,
    idle_in_transaction_session_timeout: IDLE_IN_TRANSACTION_MS,
  };
}

/** The pool for queries and commits: pipelined, so a transaction's statements share round trips. */
export function createPool(settings: ConnectionSettings, onIdleError: (error: Error) => void): pg.Pool {
  // query_timeout: a statement the server never answers ends its connection (pipelined, pg cuts it):
  // reads fail fast like commits do, whose own deadline is shorter still.
  const pool = new pg.Pool({ ...clientConfig(settings), pipeline: true, max: 4, idleTimeoutMillis: 30_000, query_timeout: 5_000 });
  // An idle connection the server dropped: the pool discards it and connects anew for the next query.
  // A connection in use that drops fails its queries, which is how its user hears of it. Either way
  // an 'error' event nobody listens to would end the process.
  pool.on('error', onIdleError);
  pool.on('connect', (client) => client.on('error', () => {}));
  return pool;
}

/**
 * A connection from the pool within `ms`, or PostgresUnavailableError: a server that accepts but never
 * answers must not hold a change past its deadline. A connection that arrives too late goes back.
 */
export async function connectWithin(pool: pg.Pool, ms: number): Promise<pg.PoolClient> {
  const connecting = pool.connect();
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new PostgresUnavailableError(`no connection within ${Math.round(ms)} ms`)), ms);
  });
  try {
    return await Promise.race([connecting, late]);
  } catch (error) {
    connecting.then((client) => client.release(), () => {});
    throw error instanceof PostgresUnavailableError ? error : new PostgresUnavailableError(describe(error), error);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Cuts a connection at once, whatever is in flight: every pending query fails. pg's own read timeout
 * does the same; `end()` would wait for pipelined queries a dead server never answers.
 */
export function sever(client: pg.ClientBase): void {
  (client as unknown as { connection: { stream: { destroy(): void } } }).connection.stream.destroy();
}

// Class 08 (connection exception), 57P01-57P03 (shut down by an operator, a crash, or still starting),
// 53300 (too many connections): the server did not take the statement; another connection may.
const LINK_CODES = /^(08...|57P0[123]|53300)$/;

// What pg and the socket say when the link fails rather than the server: refused, reset, timed out.
const LINK_MESSAGES = /connection terminated|not queryable|timeout exceeded when trying to connect|query read timeout/i;

/** The failure is the link's (refused, dropped, timed out, the server shutting down), not an answer. */
export function isLinkFailure(error: unknown): boolean {
  if (error instanceof pg.DatabaseError) return LINK_CODES.test(error.code ?? '');
  if (!(error instanceof Error)) return false;
  const code = (error as NodeJS.ErrnoException).code;
  return (typeof code === 'string' && /^E[A-Z]+$/.test(code)) || LINK_MESSAGES.test(error.message);
}

/** Two transactions got in each other's way (serialization failure, deadlock): trying again settles it. */
export const isConflict = (error: unknown): boolean =>
  error instanceof pg.DatabaseError && (error.code === '40001' || error.code === '40P01');

export const describe = (error: unknown): string => (error instanceof Error ? error.message : String(error));
