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

/** Parses an ISO-8601 option (undefined when absent); the error names the option and an example. */
export function timeOption(value: string | undefined, name: string): Date | undefined {
  if (value === undefined) return undefined;
  const d = new Date(value);
  if (Number.isNaN(d.getTime()))
    throw new ValidationError(`${name} "${value}" is not an ISO-8601 time, e.g. 2026-11-25T00:00:00Z.`);
  return d;
}

/** {@link timeOption} as a normalized ISO string. */
export function isoOption(value: string | undefined, name: string): string | undefined {
  return timeOption(value, name)?.toISOString();
}

/** Parses an option holding a JSON object (undefined when absent). */
export function jsonObjectOption(
  value: string | undefined,
  option: string,
): Record<string, unknown> | undefined {
  if (value === undefined) return undefined;
  try {
    const parsed = JSON.parse(value) as unknown;
    if (parsed && typeof parsed === 'object' && !Array.isArray(parsed))
      return parsed as Record<string, unknown>;
  } catch {
    // reported below
  }
  throw new ValidationError(`${option} must be a JSON object, e.g. '{"card_id": "c1"}'.`);
}

/** Parses `30s`, `15m`, `1h`, `7d` into seconds; the error names `option` (default `--every`). */
export function parseEvery(value: string, option = '--every'): number {
  const match = /^(\d+)(s|m|h|d)$/.exec(value);
  if (!match) throw new ValidationError(`${option} "${value}" must look like 30m, 1h or 1d.`);
  return Number(match[1]) * { s: 1, m: 60, h: 3600, d: 86400 }[match[2] as 's' | 'm' | 'h' | 'd'];
}
