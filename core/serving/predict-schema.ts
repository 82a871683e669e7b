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
