export { openDatabase, databaseUnavailable, isDatabaseUnavailable, poolOf } from './client';
export { PgListener } from './listener';
export type { ListenerState, PgListenerOptions } from './listener';
export type { Database, DatabaseHandle, DatabaseTransaction, OpenDatabaseOptions } from './client';
export { runMigrations, MIGRATIONS_FOLDER } from './migrate';
export * as tables from './schema';
