/**
 * The PostgreSQL store's connections: the pool, transactions on one of its
 * clients, and what a failure becomes. A lost connection never takes the
 * process down: the pool's and every client's `error` events are handled
 * (pg emits them with no listener otherwise, which throws), the queries on
 * the lost connection reject, and the client is dropped from the pool.
 */
import pg from 'pg';
import { LadderError } from '../core/errors.js';

export interface PoolOptions {
  /** LADDER_DATABASE_URL. */
  readonly url: string;
  /** Connections at most. */
  readonly size: number;
  /** How long to wait for a connection: a new one, or a free one of the pool (LADDER_DATABASE_CONNECT_TIMEOUT_MS). */
  readonly connectTimeoutMs: number;
  /** Told about idle connections that broke (the next query opens a new one). */
  readonly onWarning: (message: string) => void;
}

/**
 * A transaction left idle this long is ended by PostgreSQL. A member that
 * hangs mid-commit (stopped, not killed: its connection stays open) holds
 * its boards' row locks, and every other member's commits to those boards
 * would wait on it without end.
 */
const IDLE_IN_TRANSACTION_MS = 60_000;

export function createPool(options: PoolOptions): pg.Pool {
  const pool = new pg.Pool({
    connectionString: options.url,
    max: options.size,
    connectionTimeoutMillis: options.connectTimeoutMs,
    idleTimeoutMillis: 30_000,
    application_name: 'ladder',
    idle_in_transaction_session_timeout: IDLE_IN_TRANSACTION_MS,
    // Idle connections must not keep a process alive that is done.
    allowExitOnIdle: true,
  });
  pool.on('error', (err) => options.onWarning(`a PostgreSQL connection of the pool broke while idle: ${causeOf(err)}`));
  // While a client is checked out, the pool listens no more: the query on it
  // rejects with the cause, and this listener only keeps the event from throwing.
  pool.on('connect', (client) => client.on('error', () => {}));
  return pool;
}

/**
 * Connects once, so that a start with a wrong or unreachable database fails
 * at once, with a message that names the setting to fix.
 */
export async function checkConnection(pool: pg.Pool, url: string): Promise<void> {
  try {
    const client = await pool.connect();
    client.release();
  } catch (err) {
    throw new Error(`cannot connect to PostgreSQL at LADDER_DATABASE_URL (${redacted(url)}): ${causeOf(err)}`, { cause: err });
  }
}

/** The URL without its password, for messages. */
export function redacted(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password !== '') parsed.password = '***';
    return parsed.toString();
  } catch {
    return 'a value that is not a URL';
  }
}

/**
 * Runs `work` in a transaction on one client of the pool: COMMIT when it
 * resolves, ROLLBACK when it throws. A client whose connection failed is
 * discarded rather than given back.
 */
export async function transaction<T>(pool: pg.Pool, work: (client: pg.PoolClient) => Promise<T>, begin = 'BEGIN'): Promise<T> {
  const client = await pool.connect();
  let broken: Error | undefined;
  try {
    await client.query(begin);
    const result = await work(client);
    await client.query('COMMIT');
    return result;
  } catch (err) {
    await client.query('ROLLBACK').catch((rollbackFailed: Error) => (broken = rollbackFailed));
    throw err;
  } finally {
    client.release(broken);
  }
}

/**
 * What a failed database call throws. Errors in what was written (an
 * invalid value, a constraint: SQLSTATE classes 22 and 23) are the caller's
 * and are thrown as they are. Anything else (a lost or refused connection,
 * a server shutting down, a timeout, a deadlock) is `as`: storage_failed for
 * a commit (its submissions were not applied), store_unavailable for the
 * other calls; the edges answer both with 503 and Retry-After, since
 * retrying later may succeed.
 */
export function storageError(err: unknown, doing: string, as: 'storage_failed' | 'store_unavailable' = 'storage_failed'): Error {
  if (err instanceof LadderError) return err;
  const code = (err as { code?: unknown }).code;
  if (typeof code === 'string' && (code.startsWith('22') || code.startsWith('23'))) return err as Error;
  return new LadderError(as, `PostgreSQL failed while ${doing}: ${causeOf(err)}`, { cause: causeOf(err), ...(typeof code === 'string' ? { code } : {}) });
}

/** A readable cause; a refused connection to a name with two addresses is an AggregateError with an empty message. */
export function causeOf(err: unknown): string {
  if (err instanceof AggregateError && err.message === '') return err.errors.map(causeOf).join('; ');
  return err instanceof Error ? err.message : String(err);
}
