import { drizzle, type NodePgDatabase } from 'drizzle-orm/node-postgres';
import pg from 'pg';
import { processTunables, redactUrl } from '../config';
import { ServiceUnavailableError } from '../errors';
import * as schema from './schema';

/** The typed drizzle handle over the platform schema. */
export type Database = NodePgDatabase<typeof schema>;
/** A transaction of {@link Database} (what `db.transaction(fn)` hands to `fn`). */
export type DatabaseTransaction = Parameters<Parameters<Database['transaction']>[0]>[0];

/** A pool plus its drizzle handle; `close()` ends the pool. */
export interface DatabaseHandle {
  readonly db: Database;
  readonly pool: pg.Pool;
  close(): Promise<void>;
}

/** Options for {@link openDatabase}. */
export interface OpenDatabaseOptions {
  /** PostgreSQL URL (see `DATABASE_URL`). */
  url: string;
  /** Pool size. @default FTI_DB_POOL_MAX, else 10 */
  maxConnections?: number;
  /** Fail a connection attempt after this long. @default 5000 */
  connectTimeoutMs?: number;
}

/**
 * Opens a connection pool and verifies it with one round trip, so a wrong URL or a stopped server is
 * reported here — as a {@link ServiceUnavailableError} naming the (redacted) URL and the fix — and not
 * at the first query deep inside a pipeline.
 */
export async function openDatabase(options: OpenDatabaseOptions): Promise<DatabaseHandle> {
  const pool = new pg.Pool({
    connectionString: options.url,
    max: options.maxConnections ?? processTunables().dbPoolMax,
    connectionTimeoutMillis: options.connectTimeoutMs ?? 5000,
    application_name: 'fti-platform',
  });
  // An idle client losing its server must not crash the process; the next query reports it.
  pool.on('error', () => undefined);
  // Neither may a checked-out one: pg emits 'error' on a client whose server goes away even while a
  // query is running (the query is rejected too), and the pool removes its own listener at checkout.
  // The pool drops such a client when it is released (it is no longer queryable).
  pool.on('connect', (client) => {
    client.on('error', () => undefined);
  });
  try {
    await pool.query('SELECT 1');
  } catch (error) {
    await pool.end().catch(() => undefined);
    throw databaseUnavailable(options.url, error);
  }
  return { db: drizzle(pool, { schema }), pool, close: () => pool.end() };
}

/** Wraps a driver connection error once, at the adapter boundary, with the password redacted. */
export function databaseUnavailable(url: string, error: unknown): ServiceUnavailableError {
  const reason = error instanceof Error ? error.message : String(error);
  return new ServiceUnavailableError(
    'postgres',
    `PostgreSQL at ${redactUrl(url)} is not usable: ${reason}. ` +
      'Start the local stack with `infra/stack.sh up`, or set DATABASE_URL to a reachable server.',
    { cause: error },
  );
}

/** The pg pool behind a drizzle database (for COPY and LISTEN, which drizzle does not expose). */
export function poolOf(db: Database): pg.Pool {
  return (db as unknown as { $client: pg.Pool }).$client;
}

/** Socket-level codes (node) that mean the server could not be reached or went away. */
const NETWORK_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EPIPE',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENOENT', // a unix socket that is not there while the server is down
]);
/**
 * SQLSTATEs of a server that is going away or not accepting sessions: connection exceptions (08…),
 * admin/crash shutdown (57P01, 57P02), starting up or shutting down (57P03), too many connections (53300).
 */
const UNAVAILABLE_STATES = /^(08[0-9A-Z]{3}|57P0[123]|53300)$/;
const DRIVER_MESSAGES =
  /Connection terminated|timeout exceeded when trying to connect|Client has encountered a connection error|Connection terminated unexpectedly|connect ECONNREFUSED|Client was closed and is not queryable/i;

/**
 * True when `error` (or any error in its `cause` chain, as drizzle wraps driver errors) says that
 * PostgreSQL could not be reached or dropped the connection — an outage a retry can outlive — as
 * opposed to a query that is wrong. The online service answers these with 503.
 */
export function isDatabaseUnavailable(error: unknown): boolean {
  const seen = new Set<unknown>();
  for (
    let e: unknown = error;
    e && typeof e === 'object' && !seen.has(e);
    e = (e as { cause?: unknown }).cause
  ) {
    seen.add(e);
    if (e instanceof ServiceUnavailableError) return e.service === 'postgres';
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string' && (NETWORK_CODES.has(code) || UNAVAILABLE_STATES.test(code))) return true;
    if (e instanceof AggregateError && e.errors.some((inner) => isDatabaseUnavailable(inner))) return true;
    if (e instanceof Error && DRIVER_MESSAGES.test(e.message)) return true;
  }
  return false;
}
