import { z } from 'zod';
import { ENV } from '../../config/env-names';
import { isIdentifier } from '../../identifiers';

/** Statement timeout of a Postgres source query unless the spec sets one. */
export const DEFAULT_SOURCE_STATEMENT_TIMEOUT_SECONDS = 300;

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
    delimiter: z
      .string()
      .length(1)
      .refine((d) => !['"', '\n', '\r'].includes(d), {
        message: 'must be one character other than a quote or a line break, e.g. "," or ";"',
      })
      .optional(),
  }),
  z.object({
    kind: z.literal('postgres'),
    /** A SELECT; the window is applied around it as `WHERE time_column >= $1 AND time_column < $2`. */
    query: z.string().min(1).max(100_000),
    /**
     * Name of the worker's environment variable holding the connection URL (never the URL itself:
     * specs travel through Temporal and files). The platform's own DATABASE_URL is refused.
     * @default FTI_SOURCE_DATABASE_URL
     */
    urlEnv: z
      .string()
      .regex(/^[A-Z][A-Z0-9_]*$/, {
        message: 'must be an environment variable name such as FTI_SOURCE_DATABASE_URL',
      })
      .refine((v) => v !== ENV.databaseUrl, {
        message: `must not be ${ENV.databaseUrl}: source queries never run with the platform's own database credentials; put the source database URL (ideally a read-only role) in ${ENV.sourceDatabaseUrl} or another variable`,
      })
      .default(ENV.sourceDatabaseUrl),
    /** The query is cancelled after this long. @default 300 */
    statementTimeoutSeconds: z
      .number()
      .int()
      .positive()
      .max(86_400)
      .default(DEFAULT_SOURCE_STATEMENT_TIMEOUT_SECONDS),
    timeColumn,
  }),
]);

/** A source specification (input form). */
export type SourceSpec = z.input<typeof sourceSpecSchema>;
