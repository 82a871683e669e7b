export { DuckSession, withDuck, sqlPath, sqlPathList, sqlString, type ResultChunk } from './session';
export type { DuckSessionOptions, SqlParam } from './session';
