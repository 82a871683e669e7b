import { ValidationError } from '../errors';
import type { FeatureType } from './feature-group';

/** A feature value as JSON carries it (times as ISO strings). */
export type FeatureValue = string | number | boolean | null | readonly number[];

const INT32 = { min: -2_147_483_648, max: 2_147_483_647 };
const ISO_DATE = /^\d{4}-\d{2}-\d{2}$/;
const ISO_LOCAL_TIME = /^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?$/;

/** What checking a value needs of its feature or column. */
export interface TypedField {
  readonly name: string;
  readonly type: FeatureType;
  readonly allowNonFinite?: boolean;
}

/**
 * Checks one non-null JSON value against its feature type, as every door into the platform does
 * (pushed events, online requests): integers in range, finite numbers unless `allowNonFinite`,
 * ISO-8601 times (without a zone: UTC) and dates. Returns the value with times normalised to ISO
 * strings (UTC). The error names `label()` and the expected type, never the value.
 */
export function checkFeatureValue(
  feature: TypedField,
  value: unknown,
  label: () => string,
  where: string,
): FeatureValue {
  const location = () => `${where}.${feature.name}`;
  const fail = (expected: string): never => {
    throw new ValidationError(
      `${label()} must be ${expected} (feature type ${feature.type}), got ${typeOf(value)}.`,
      { location: location() },
    );
  };
  const finite = (n: number) => {
    if (!Number.isFinite(n) && !feature.allowNonFinite) {
      throw new ValidationError(
        `${label()} is not a finite number; send a finite value, or set "allowNonFinite": true on the feature.`,
        { location: location() },
      );
    }
    return n;
  };
  switch (feature.type) {
    case 'int':
      if (typeof value !== 'number' || !Number.isInteger(value) || value < INT32.min || value > INT32.max)
        fail('a 32-bit integer');
      return value as number;
    case 'bigint':
      if (typeof value !== 'number' || !Number.isSafeInteger(value)) fail('an integer within ±2^53');
      return value as number;
    case 'float':
    case 'double':
      if (typeof value !== 'number') fail('a number');
      return finite(value as number);
    case 'bool':
      if (typeof value !== 'boolean') fail('true or false');
      return value as boolean;
    case 'string':
      if (typeof value !== 'string') fail('a string');
      return value as string;
    case 'timestamp': {
      // A time without a zone is UTC (as in CSV files and the offline store), never the machine's zone.
      const text = typeof value === 'string' && ISO_LOCAL_TIME.test(value) ? `${value}Z` : value;
      const ms = typeof text === 'string' ? Date.parse(text) : Number.NaN;
      if (Number.isNaN(ms)) fail('an ISO-8601 time such as 2026-11-30T12:00:00Z');
      return new Date(ms).toISOString();
    }
    case 'date':
      if (typeof value !== 'string' || !ISO_DATE.test(value) || Number.isNaN(Date.parse(value)))
        fail('a date such as 2026-11-30');
      return value as string;
    case 'float_array':
      if (!Array.isArray(value) || value.some((v) => typeof v !== 'number')) fail('an array of numbers');
      (value as number[]).forEach(finite);
      return value as number[];
  }
}

/** "a string", "an array", "null": what a value is, for error messages. */
export function typeOf(value: unknown): string {
  if (Array.isArray(value)) return 'an array';
  if (value === null) return 'null';
  return typeof value === 'object' ? 'an object' : `a ${typeof value}`;
}
