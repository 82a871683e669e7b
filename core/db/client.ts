import { drizzle, type NodePgDatabase } from 'drizzle-orm/node-postgres';
import pg from 'pg';
import { redactUrl } from '../config';
import { ServiceUnavailableError } from '../errors';
import * as schema from './schema';

/** The typed drizzle handle over the platform schema. */
export type Database = NodePgDatabase<typeof schema>;

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
  /** @default 10 */
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
    max: options.maxConnections ?? 10,
    connectionTimeoutMillis: options.connectTimeoutMs ?? 5000,
    application_name: 'fti-platform',
  });
  // An idle client losing its server must not crash the process; the next query reports it.
  pool.on('error', () => undefined);
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
