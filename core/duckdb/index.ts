export { DuckSession, withDuck, sqlPath, sqlPathList, sqlString } from './session';
export type { DuckSessionOptions, SqlParam } from './session';
