export type { OnlineStore, OnlineRow, OnlineStatus, OnlineWriteResult } from './online-store';
export { PostgresOnlineStore } from './postgres/postgres-online-store';
export type { PostgresOnlineStoreOptions } from './postgres/postgres-online-store';
