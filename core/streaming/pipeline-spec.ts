import { z } from 'zod';
import { ValidationError } from '../errors';
import { isIdentifier } from '../identifiers';

/** Most key partitions a streaming pipeline may have (each is one consumer activity). */
export const MAX_STREAM_PARTITIONS = 16;

const groupRef = z
  .object({
    name: z.string().refine(isIdentifier, { message: 'must be a feature group name (lowercase identifier)' }),
    version: z.number().int().positive().optional(),
  })
  .strict();

/**
 * A streaming feature pipeline as carried in workflow inputs: which feature group's event stream it
 * reads, which registered transformation turns events into rows of which feature group, and how it
 * batches, partitions and checkpoints. References only — no data, no secrets.
 */
export const streamPipelineSpecSchema = z
  .object({
    /** Pipeline name: part of workflow ids, consumer names, checkpoints and commit idempotency keys. */
    name: z
      .string()
      .regex(/^[a-z][a-z0-9_-]{0,62}$/, { message: 'must be lowercase letters, digits, _ or - (max 63)' }),
    /** The feature group whose events are read (its stream `fti_events_<name>_v<version>`). */
    source: groupRef,
    /** The feature group written; defaults to the source group (events ingested as they are). */
    featureGroup: groupRef.optional(),
    /**
     * Name of a transformation registered on the features worker that has a streaming form
     * (`windowAggregation` or `rowTransformation`); none: events are written as they are.
     */
    transformation: z.string().min(1).max(100).optional(),
    /** Key partitions, each consumed by one activity (possibly on different workers). @default 1 */
    partitions: z.number().int().min(1).max(MAX_STREAM_PARTITIONS).default(1),
    /**
     * How far behind the newest event time an event may arrive and still be aggregated (window
     * transformations); later events go to the dead-letter stream. @default 60
     */
    allowedLatenessSeconds: z
      .number()
      .int()
      .min(0)
      .max(7 * 86_400)
      .default(60),
    /** Offline micro-batch commit (and checkpoint) interval. @default 10 */
    commitIntervalSeconds: z.number().min(0.2).max(3600).default(10),
    /** Most events per micro-batch. @default 2000 */
    maxBatchEvents: z.number().int().min(1).max(100_000).default(2000),
    /** Longest wait for a micro-batch's first event. @default 1000 */
    maxBatchWaitMs: z.number().int().min(10).max(60_000).default(1000),
    /** Each run continues as new after this long, keeping the workflow history short. @default 3600 */
    runSeconds: z.number().int().min(5).max(86_400).default(3600),
    /**
     * Where a pipeline without a checkpoint starts: the stream's first event (`earliest`), only new
     * events (`latest`), or a stream sequence. @default 'earliest'
     */
    startFrom: z
      .union([
        z.literal('earliest'),
        z.literal('latest'),
        z.object({ sequence: z.number().int().min(1) }).strict(),
      ])
      .default('earliest'),
    /**
     * Rows whose event time is before this instant (ISO-8601) are not written: a replay from a time
     * reads the preceding window to warm its state but writes only from here on.
     */
    emitFrom: z.string().datetime({ offset: true }).optional(),
  })
  .strict();

/** A streaming pipeline specification (input form). */
export type StreamPipelineSpec = z.input<typeof streamPipelineSpecSchema>;
/** A streaming pipeline specification with defaults applied. */
export type NormalizedStreamPipelineSpec = z.output<typeof streamPipelineSpecSchema>;

/** Validates a streaming pipeline specification; the error names each bad field and the fix. */
export function parseStreamPipelineSpec(spec: unknown): NormalizedStreamPipelineSpec {
  const parsed = streamPipelineSpecSchema.safeParse(spec);
  if (!parsed.success) {
    throw new ValidationError(
      `streaming pipeline: ${parsed.error.issues.map((i) => `${i.path.join('.') || '(root)'} ${i.message}`).join('; ')}`,
      { location: 'pipeline' },
    );
  }
  return parsed.data;
}

/** Workflow id of a streaming pipeline: one running instance per name. */
export function streamWorkflowId(pipeline: string): string {
  return `stream-${pipeline}`;
}
