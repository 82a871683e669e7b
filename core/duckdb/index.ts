export { DuckSession, withDuck, sqlPath, sqlPathList } from './session';
export type { DuckSessionOptions, SqlParam } from './session';
