import fs from 'node:fs';
import { loadConfig, type FtiConfig } from '../core/config';
import { openDatabase, type DatabaseHandle } from '../core/db';
import { ValidationError } from '../core/errors';

/** Opens the metadata database for one command and always closes it. */
export async function withDatabase<T>(
  fn: (handle: DatabaseHandle, config: FtiConfig) => Promise<T>,
): Promise<T> {
  const config = loadConfig();
  const handle = await openDatabase({ url: config.databaseUrl, maxConnections: 2 });
  try {
    return await fn(handle, config);
  } finally {
    await handle.close();
  }
}

/** Reads and parses a JSON file given on the command line; errors name the file and the problem. */
export function readJsonFile(file: string, what: string): unknown {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch {
    throw new ValidationError(`${what} file ${file} cannot be read; check the path.`, { location: file });
  }
  try {
    return JSON.parse(text) as unknown;
  } catch (error) {
    throw new ValidationError(`${what} file ${file} is not valid JSON: ${(error as Error).message}.`, {
      location: file,
    });
  }
}

/** Parses a positive integer option. */
export function positiveInt(value: string, name: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n <= 0)
    throw new ValidationError(`${name} must be a positive integer, got "${value}".`);
  return n;
}
