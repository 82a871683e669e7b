import { z } from 'zod';

const instanceSchema = z
  .object({
    keys: z.record(z.string(), z.union([z.string(), z.number(), z.boolean()])),
    request: z.record(z.string(), z.unknown()).optional(),
    /** When the event being scored happened (ISO-8601); logged so later labels join on it. */
    eventTime: z.iso
      .datetime({ offset: true, message: 'must be an ISO-8601 time, e.g. 2026-11-30T12:00:00Z' })
      .optional(),
  })
  .strict();

/**
 * Body of `POST /v1/deployments/{name}/predict`: one instance, or many in `instances`. The server
 * validates with it and the OpenAPI document is generated from it.
 */
export const predictSchema = z.union([
  z.object({ instances: z.array(instanceSchema).min(1) }).strict(),
  instanceSchema,
]);

/** An instance of a predict body, as {@link predictSchema} accepts it. */
export type PredictInstance = z.infer<typeof instanceSchema>;

/** Whether `value` is an object from JSON (not null, not an array). */
const isPlainObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

/**
 * The common instance shapes — `{keys}` or `{keys, request}` with scalar key values — checked
 * without zod (a per-request schema walk was a visible share of a /predict's CPU). Anything else,
 * `eventTime` included, answers false and goes through the schema, so errors read the same.
 */
function isSimpleInstance(value: unknown): value is PredictInstance {
  if (!isPlainObject(value)) return false;
  let fields = 0;
  for (const field in value) {
    if (!Object.prototype.hasOwnProperty.call(value, field)) return false;
    if (field !== 'keys' && field !== 'request') return false;
    fields++;
  }
  const keys = value.keys;
  if (!isPlainObject(keys)) return false;
  for (const name in keys) {
    if (name === '__proto__' || !Object.prototype.hasOwnProperty.call(keys, name)) return false;
    const v = keys[name];
    if (typeof v === 'number' ? !Number.isFinite(v) : typeof v !== 'string' && typeof v !== 'boolean')
      return false;
  }
  if (fields === 2) {
    const request = value.request;
    if (!isPlainObject(request)) return false;
    for (const name in request) if (name === '__proto__') return false;
  }
  return true;
}

/**
 * Validates a predict body (see {@link predictSchema}) and returns its instances. The common
 * shapes are checked directly and the body's own objects returned; every other body is parsed by
 * the schema, whose error (with every issue) is returned as is.
 */
export function parsePredictBody(
  body: unknown,
): { readonly instances: readonly PredictInstance[] } | { readonly error: z.ZodError } {
  if (isSimpleInstance(body)) return { instances: [body] };
  if (
    isPlainObject(body) &&
    Array.isArray(body.instances) &&
    body.instances.length > 0 &&
    Object.keys(body).length === 1 &&
    body.instances.every(isSimpleInstance)
  )
    return { instances: body.instances as PredictInstance[] };
  const parsed = predictSchema.safeParse(body);
  if (!parsed.success) return { error: parsed.error };
  return { instances: 'instances' in parsed.data ? parsed.data.instances : [parsed.data] };
}
