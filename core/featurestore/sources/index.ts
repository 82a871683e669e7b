import { ENV } from '../../config/env-names';
import { ValidationError } from '../../errors';
import type { ObjectStore } from '../../storage';
import { FileSource } from './files/file-source';
import { PostgresSource } from './postgres/postgres-source';
import type { Source } from './source';
import { sourceSpecSchema, type SourceSpec } from './spec';

export type { Source, ExtractContext, TimeWindow } from './source';
export { sourceSpecSchema, DEFAULT_SOURCE_STATEMENT_TIMEOUT_SECONDS } from './spec';
export type { SourceSpec } from './spec';
export { FileSource } from './files/file-source';
export { PostgresSource } from './postgres/postgres-source';

/**
 * Builds the adapter for a source specification. `env` supplies Postgres URLs by variable name
 * (`FTI_SOURCE_DATABASE_URL` unless the spec names another; never `DATABASE_URL`); `storeFor` gives
 * a store for an `s3://bucket`. A bad spec or a missing variable raises a {@link ValidationError}.
 */
export function sourceFromSpec(
  spec: SourceSpec,
  deps: { env: NodeJS.ProcessEnv; storeFor: (bucket: string) => ObjectStore },
): Source {
  const parsed = sourceSpecSchema.safeParse(spec);
  if (!parsed.success) {
    throw new ValidationError(
      `source: ${parsed.error.issues.map((i) => `${i.path.join('.') || 'kind'} ${i.message}`).join('; ')}`,
      { location: 'source' },
    );
  }
  const s = parsed.data;
  if (s.kind === 'postgres') {
    const url = deps.env[s.urlEnv];
    if (!url)
      throw new ValidationError(
        `postgres source: environment variable ${s.urlEnv} is not set on the features worker. Set it to the URL of the database to read (a role with read-only rights is best), or name another variable in source.urlEnv; the platform's ${ENV.databaseUrl} is never used for sources.`,
        { location: 'source.urlEnv' },
      );
    return new PostgresSource({
      url,
      query: s.query,
      statementTimeoutMs: s.statementTimeoutSeconds * 1000,
      ...(s.timeColumn ? { timeColumn: s.timeColumn } : {}),
    });
  }
  return new FileSource({
    format: s.kind,
    path: s.path,
    storeFor: deps.storeFor,
    ...(s.timeColumn ? { timeColumn: s.timeColumn } : {}),
    ...(s.delimiter ? { delimiter: s.delimiter } : {}),
  });
}
