import { ValidationError } from '../errors';
import type { FeatureGroupSpec, ResolvedFeature } from '../featurestore/feature-group';

/** A JSON value as an event carries it. */
export type EventValue = string | number | boolean | null | readonly number[];

/** An event checked against its feature group: every field declared, typed, keys and time present. */
export type FeatureEvent = Readonly<Record<string, EventValue>>;

const INT32 = { min: -2_147_483_648, max: 2_147_483_647 };
const ISO_DATE = /^\d{4}-\d{2}-\d{2}$/;
const ISO_LOCAL_TIME = /^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?$/;

/**
 * Checks one event (parsed JSON) against a feature group's schema, the way the push endpoint and the
 * producer do at the door: an object; no undeclared field; primary-key and event-time fields
 * present and non-null; non-nullable features present; every value of its feature's type (integers
 * in range, finite numbers unless the feature sets `allowNonFinite`, ISO-8601 times). Returns the
 * event with times normalised to ISO strings (UTC). Errors name the event (`where`), the field and
 * how to fix it, never the value.
 */
export function validateFeatureEvent(spec: FeatureGroupSpec, event: unknown, where: string): FeatureEvent {
  // Messages are built only on failure: this runs for every event of a stream.
  const label = () => `${where} (feature group ${spec.name} v${spec.version})`;
  if (typeof event !== 'object' || event === null || Array.isArray(event)) {
    throw new ValidationError(`${label()}: an event must be a JSON object of feature values.`, {
      location: where,
    });
  }
  const fields = event as Record<string, unknown>;
  const shape = shapeOf(spec);
  let known = 0;
  for (const key in fields) if (shape.byName.has(key)) known += 1;
  if (known !== Object.keys(fields).length) {
    const unknown = Object.keys(fields).filter((k) => !shape.byName.has(k));
    throw new ValidationError(
      `${label()}: field(s) ${unknown.map((k) => JSON.stringify(k)).join(', ')} are not features of the group; remove them or add them to the group.`,
      { location: `${where}.${unknown[0]}` },
    );
  }
  const out: Record<string, EventValue> = {};
  for (const feature of spec.features) {
    const value = fields[feature.name];
    if (value === undefined || value === null) {
      const required = shape.required.has(feature.name);
      if (required || !feature.nullable) {
        throw new ValidationError(
          `${label()}: field "${feature.name}" is missing${
            !required
              ? ' and the feature is not nullable'
              : feature.name === spec.eventTime
                ? " (it is the group's event time)"
                : ' (it is part of the record key)'
          }.`,
          { location: `${where}.${feature.name}` },
        );
      }
      out[feature.name] = null;
      continue;
    }
    out[feature.name] = checkValue(feature, value, () => `${label()}: field "${feature.name}"`, where);
  }
  return out;
}

/** Per-spec lookups, built once per feature group version rather than per event. */
const shapes = new WeakMap<
  FeatureGroupSpec,
  { byName: Map<string, ResolvedFeature>; required: Set<string> }
>();
function shapeOf(spec: FeatureGroupSpec) {
  let shape = shapes.get(spec);
  if (!shape) {
    shape = {
      byName: new Map(spec.features.map((f) => [f.name, f])),
      required: new Set([...spec.primaryKey, spec.eventTime]),
    };
    shapes.set(spec, shape);
  }
  return shape;
}

function checkValue(
  feature: ResolvedFeature,
  value: unknown,
  label: () => string,
  where: string,
): EventValue {
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

function typeOf(value: unknown): string {
  if (Array.isArray(value)) return 'an array';
  if (value === null) return 'null';
  return typeof value === 'object' ? 'an object' : `a ${typeof value}`;
}
