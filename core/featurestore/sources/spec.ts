import { z } from 'zod';
import { isIdentifier } from '../../identifiers';

const timeColumn = z
  .string()
  .refine(isIdentifier, { message: 'must be a column name (lowercase identifier)' })
  .optional();

/**
 * Serializable description of a source, carried in workflow inputs (so it must hold references, not
 * secrets: a Postgres source names the environment variable with its URL on the worker).
 */
export const sourceSpecSchema = z.discriminatedUnion('kind', [
  z.object({
    kind: z.enum(['csv', 'parquet', 'jsonl']),
    /** Local path, or `s3://bucket/key` (a `*` glob in the last segment is allowed for local paths). */
    path: z.string().min(1),
    /** Column compared to the run's window. */
    timeColumn,
    /** CSV delimiter. @default ',' */
    delimiter: z.string().length(1).optional(),
  }),
  z.object({
    kind: z.literal('postgres'),
    /** A SELECT; the window is applied around it as `WHERE time_column >= $1 AND time_column < $2`. */
    query: z.string().min(1).max(100_000),
    /** Name of the worker's environment variable holding the connection URL. @default DATABASE_URL */
    urlEnv: z
      .string()
      .regex(/^[A-Z][A-Z0-9_]*$/)
      .default('DATABASE_URL'),
    timeColumn,
  }),
]);

/** A source specification (input form). */
export type SourceSpec = z.input<typeof sourceSpecSchema>;
