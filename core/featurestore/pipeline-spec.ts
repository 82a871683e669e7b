import { z } from 'zod';
import { ValidationError } from '../errors';
import { isIdentifier } from '../identifiers';
import { sourceSpecSchema } from './sources/spec';

/**
 * A feature pipeline as carried in workflow inputs and schedules: which source, which registered
 * transformation, which feature group, how to write. References only — no data, no secrets.
 */
export const featurePipelineSpecSchema = z.object({
  /** Pipeline name; part of commit idempotency keys and workflow ids. */
  name: z
    .string()
    .regex(/^[a-z][a-z0-9_-]{0,62}$/, { message: 'must be lowercase letters, digits, _ or - (max 63)' }),
  featureGroup: z.object({
    name: z.string().refine(isIdentifier, { message: 'must be a feature group name (lowercase identifier)' }),
    version: z.number().int().positive().optional(),
  }),
  source: sourceSpecSchema,
  /** Name of a transformation registered on the features worker. */
  transformation: z.string().min(1).max(100).optional(),
  /** @default 'upsert' */
  operation: z.enum(['insert', 'upsert', 'delete', 'overwrite']).default('upsert'),
  /** `strict`: an error-severity expectation failure writes nothing. @default 'strict' */
  validation: z.enum(['strict', 'always']).default('strict'),
  /** Length of the window a scheduled run processes (ending at its scheduled time). */
  windowSeconds: z.number().int().positive().optional(),
  /** Extra history read before the window for trailing aggregates; only window rows are written. */
  lookbackSeconds: z.number().int().nonnegative().default(0),
});

/** A feature pipeline specification (input form). */
export type FeaturePipelineSpec = z.input<typeof featurePipelineSpecSchema>;
/** A feature pipeline specification with defaults applied. */
export type NormalizedFeaturePipelineSpec = z.output<typeof featurePipelineSpecSchema>;

/** Validates a pipeline specification; the error names each bad field. */
export function parseFeaturePipelineSpec(spec: unknown): NormalizedFeaturePipelineSpec {
  const parsed = featurePipelineSpecSchema.safeParse(spec);
  if (!parsed.success) {
    throw new ValidationError(
      `feature pipeline: ${parsed.error.issues.map((i) => `${i.path.join('.') || '(root)'} ${i.message}`).join('; ')}`,
      {
        location: 'pipeline',
      },
    );
  }
  return parsed.data;
}

/** Parses a `[start, end)` window from ISO strings; start must be before end. */
export function parseWindow(
  window: { start: string; end: string } | undefined,
): { start: Date; end: Date } | undefined {
  if (!window) return undefined;
  const start = new Date(window.start);
  const end = new Date(window.end);
  if (Number.isNaN(start.getTime()) || Number.isNaN(end.getTime())) {
    throw new ValidationError(
      `window [${window.start}, ${window.end}) is not two ISO-8601 times, e.g. 2026-11-25T00:00:00Z.`,
      { location: 'window' },
    );
  }
  if (start >= end)
    throw new ValidationError(`window start ${window.start} is not before end ${window.end}; swap them.`, {
      location: 'window',
    });
  return { start, end };
}
