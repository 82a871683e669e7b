import { ValidationError } from '../errors';
import type { FeatureGroupSpec, ResolvedFeature } from '../featurestore/feature-group';
import { checkFeatureValue, type FeatureValue } from '../featurestore/value-check';

/** A JSON value as an event carries it. */
export type EventValue = FeatureValue;

/** An event checked against its feature group: every field declared, typed, keys and time present. */
export type FeatureEvent = Readonly<Record<string, EventValue>>;

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
    out[feature.name] = checkFeatureValue(feature, value, () => `${label()}: field "${feature.name}"`, where);
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
