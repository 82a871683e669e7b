export { openDatabase, databaseUnavailable, poolOf } from './client';
export type { Database, DatabaseHandle, OpenDatabaseOptions } from './client';
export { runMigrations, MIGRATIONS_FOLDER } from './migrate';
export * as tables from './schema';
