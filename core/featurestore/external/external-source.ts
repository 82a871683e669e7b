import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import pg from 'pg';
import { z } from 'zod';
import { ENV } from '../../config/env-names';
import { sqlPath, withDuck, type DuckSession } from '../../duckdb';
import { ServiceUnavailableError, ValidationError } from '../../errors';
import { quoteIdent } from '../../identifiers';
import type { ObjectStore } from '../../storage';
import { conformBatch, DUCK_TYPES, ROW_COLUMN } from '../conform';
import type { FeatureGroupSpec } from '../feature-group';
import { isSourceOutage, PostgresSource } from '../sources/postgres/postgres-source';
import { DEFAULT_SOURCE_STATEMENT_TIMEOUT_SECONDS } from '../sources/spec';
import { mapLimited } from '../../concurrency';

const identifier = /^[a-z_][a-z0-9_]{0,62}$/;

/**
 * Where an external feature group's rows live. The platform reads them in place on every read and
 * never copies them into its offline store:
 * - `postgres`: a table or view (`schema.name` or `name`) in the database whose URL is in the
 *   environment variable `urlEnv` of the process that reads (worker, CLI) — never in the definition;
 * - `parquet`: every `*.parquet` object under `prefix` in the platform's object store.
 */
export const externalSourceSchema = z.discriminatedUnion('kind', [
  z
    .object({
      kind: z.literal('postgres'),
      table: z
        .string()
        .refine((t) => t.split('.').length <= 2 && t.split('.').every((p) => identifier.test(p)), {
          message: 'must be table or schema.table in lowercase letters, digits and _',
        }),
      urlEnv: z
        .string()
        .regex(/^[A-Z_][A-Z0-9_]*$/, 'must be an environment variable name')
        .default(ENV.sourceDatabaseUrl),
    })
    .strict(),
  z
    .object({
      kind: z.literal('parquet'),
      prefix: z
        .string()
        .min(1)
        .max(1024)
        .refine((p) => !p.startsWith('/') && !p.split('/').includes('..'), {
          message: 'must be a key prefix in the object store (no leading / and no ..)',
        }),
    })
    .strict(),
]);
/** An external group's source as written in its definition. */
export type ExternalSourceDefinition = z.input<typeof externalSourceSchema>;
/** An external group's source with defaults filled in. */
export type ExternalSource = z.output<typeof externalSourceSchema>;

/** What reading an external source needs. */
export interface ExternalReadDeps {
  readonly store: ObjectStore;
  readonly scratchDir: string;
  /** Where `urlEnv` is looked up. @default process.env */
  readonly env?: NodeJS.ProcessEnv;
}

/** Describes a source for messages (never a URL or a credential). */
export function describeExternalSource(source: ExternalSource): string {
  return source.kind === 'postgres'
    ? `postgres table ${source.table} (database from $${source.urlEnv})`
    : `parquet files under ${source.prefix}`;
}

function sourceOf(spec: FeatureGroupSpec): ExternalSource {
  if (!spec.external) throw new Error(`feature group ${spec.name} v${spec.version} is not external`);
  return spec.external;
}

function postgresUrl(
  source: Extract<ExternalSource, { kind: 'postgres' }>,
  deps: ExternalReadDeps,
  label: string,
): string {
  const url = (deps.env ?? process.env)[source.urlEnv];
  if (!url)
    throw new ValidationError(
      `${label}: environment variable ${source.urlEnv} is not set; set it to the source database's URL on the workers and where the CLI runs.`,
      { location: 'external.urlEnv' },
    );
  return url;
}

async function parquetFiles(source: Extract<ExternalSource, { kind: 'parquet' }>, store: ObjectStore) {
  const files = [];
  const prefix = source.prefix.endsWith('/') ? source.prefix : `${source.prefix}/`;
  for await (const o of store.list(prefix)) {
    // Writers' work in progress and metadata (Spark's _temporary, _SUCCESS, Delta's _delta_log,
    // hidden files) are not data.
    const hidden = o.key
      .slice(prefix.length)
      .split('/')
      .some((part) => part.startsWith('_') || part.startsWith('.'));
    if (o.key.endsWith('.parquet') && !hidden) files.push(o);
  }
  return files.sort((a, b) => a.key.localeCompare(b.key));
}

/**
 * Runs `query` against the source database in a READ ONLY transaction with a statement timeout;
 * an outage (cannot connect, connection lost, server shutting down) is retryable, anything else
 * is a ValidationError naming the source.
 */
async function withSourceQuery<T>(
  url: string,
  label: string,
  location: string,
  query: (client: pg.Client) => Promise<T>,
): Promise<T> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 10_000 });
  client.on('error', () => undefined);
  try {
    await client.connect();
  } catch (error) {
    throw new ServiceUnavailableError(
      'external-source',
      `${label}: cannot connect (${(error as Error).message}).`,
      {
        cause: error,
      },
    );
  }
  try {
    await client.query('BEGIN TRANSACTION READ ONLY');
    await client.query("SELECT set_config('statement_timeout', $1, true)", [
      String(DEFAULT_SOURCE_STATEMENT_TIMEOUT_SECONDS * 1000),
    ]);
    const result = await query(client);
    await client.query('COMMIT');
    return result;
  } catch (error) {
    if (isSourceOutage(error))
      throw new ServiceUnavailableError('external-source', `${label}: ${(error as Error).message}`, {
        cause: error,
      });
    throw new ValidationError(
      `${label}: ${(error as Error).message}; the table or view must exist, be readable, and have every declared feature as a column.`,
      { location, cause: error },
    );
  } finally {
    await client.end().catch(() => undefined);
  }
}

/**
 * Loads the source's rows into DuckDB table `target` with the group's declared columns and types
 * (rows validated like ingested ones: a value that is not its type, a null key or event time, an
 * undeclared NaN is an error naming the row and column). Returns the row count.
 */
export async function loadExternalRows(
  duck: DuckSession,
  deps: ExternalReadDeps,
  spec: FeatureGroupSpec,
  target: string,
): Promise<number> {
  const source = sourceOf(spec);
  const label = `external feature group ${spec.name} v${spec.version} (${describeExternalSource(source)})`;
  const raw = `${target}_raw`;
  const columns = spec.features.map((f) => quoteIdent(f.name)).join(', ');
  if (source.kind === 'postgres') {
    const table = source.table.split('.').map(quoteIdent).join('.');
    await new PostgresSource({
      url: postgresUrl(source, deps, label),
      query: `SELECT ${columns} FROM ${table}`,
    }).load(raw, {
      duck,
      scratchDir: deps.scratchDir,
    });
  } else {
    const files = await parquetFiles(source, deps.store);
    if (files.length) {
      // Downloaded for this read only: external files can change under the same key.
      const dir = await fs.promises.mkdtemp(path.join(deps.scratchDir, 'external-'));
      try {
        const paths = await mapLimited(files, 4, async (f, i) => {
          const local = path.join(dir, `${i}.parquet`);
          await deps.store.download(f.key, local);
          return local;
        });
        const present = new Map(
          (
            await duck.describe(
              `SELECT * FROM read_parquet([${paths.map(sqlPath).join(', ')}], union_by_name = true)`,
            )
          ).map((c) => [c.name, c.type]),
        );
        const missing = spec.features.filter((f) => !present.has(f.name));
        if (missing.length)
          throw new ValidationError(
            `${label}: the files lack column(s) ${missing.map((f) => f.name).join(', ')} (they have: ${[...present].join(', ')}).`,
            { location: 'external' },
          );
        await duck.run(
          `CREATE OR REPLACE TABLE ${raw} AS SELECT ${spec.features.map((f) => rawColumn(f.name, present.get(f.name)!)).join(', ')}, row_number() OVER () AS ${ROW_COLUMN} FROM read_parquet([${paths.map(sqlPath).join(', ')}], union_by_name = true)`,
        );
      } finally {
        await fs.promises.rm(dir, { recursive: true, force: true });
      }
    }
  }
  const exists = await duck.one<{ n: bigint }>(
    `SELECT count(*) AS n FROM duckdb_tables() WHERE table_name = '${raw}'`,
  );
  const rows =
    Number(exists?.n ?? 0) > 0
      ? Number((await duck.one<{ n: bigint }>(`SELECT count(*) AS n FROM ${raw}`))?.n ?? 0)
      : 0;
  if (rows === 0) {
    const empty = spec.features.map((f) => `NULL::${DUCK_TYPES[f.type]} AS ${quoteIdent(f.name)}`).join(', ');
    await duck.run(`CREATE OR REPLACE TABLE ${target} AS SELECT ${empty} WHERE FALSE`);
    return 0;
  }
  await conformBatch(duck, raw, `${target}_typed`, spec, label);
  await duck.run(`CREATE OR REPLACE TABLE ${target} AS SELECT ${columns} FROM ${target}_typed`);
  await duck.run(`DROP TABLE ${target}_typed`);
  await duck.run(`DROP TABLE ${raw}`);
  return rows;
}

// Time zone-aware timestamps (pandas, Spark) are read as UTC wall time, the offline store's convention.
function rawColumn(name: string, fileType: string): string {
  const c = quoteIdent(name);
  return fileType === 'TIMESTAMP WITH TIME ZONE' ? `timezone('UTC', ${c}) AS ${c}` : c;
}

/**
 * A cheap fingerprint of the source's current state, recorded with each read so lineage can tell
 * whether two reads saw the same data: Postgres — row count and latest event time (one aggregate
 * query); Parquet — the files' keys, sizes and ETags (one listing).
 */
export async function externalFingerprint(
  deps: ExternalReadDeps,
  spec: FeatureGroupSpec,
): Promise<{ hash: string; rows: number | null; latestEventTime: string | null; files: number | null }> {
  const source = sourceOf(spec);
  const label = `external feature group ${spec.name} v${spec.version} (${describeExternalSource(source)})`;
  if (source.kind === 'postgres') {
    const table = source.table.split('.').map(quoteIdent).join('.');
    const row = await withSourceQuery(
      postgresUrl(source, deps, label),
      label,
      'external.table',
      async (client) => {
        const { rows } = await client.query<{ n: string; latest: Date | null }>(
          `SELECT count(*) AS n, max(${quoteIdent(spec.eventTime)}) AS latest FROM ${table}`,
        );
        return rows[0];
      },
    );
    const n = Number(row?.n ?? 0);
    const latest = row?.latest ? new Date(row.latest).toISOString() : null;
    return { hash: digest(`${n}|${latest}`), rows: n, latestEventTime: latest, files: null };
  }
  const files = await parquetFiles(source, deps.store);
  return {
    hash: digest(files.map((f) => `${f.key}|${f.size}|${f.etag ?? ''}`).join('\n')),
    rows: null,
    latestEventTime: null,
    files: files.length,
  };
}

const digest = (text: string) => createHash('sha256').update(text).digest('hex').slice(0, 32);

/**
 * Checks, before an external group is registered, that its source can be read and holds the
 * declared columns: Postgres — a `LIMIT 0` select of every column (the table, the grants and the
 * column names); Parquet — the schema of the first file (an empty prefix is allowed: a source
 * that fills later). Errors name the source and what is missing.
 */
export async function checkExternalSource(deps: ExternalReadDeps, spec: FeatureGroupSpec): Promise<void> {
  const source = sourceOf(spec);
  const label = `external feature group ${spec.name} v${spec.version} (${describeExternalSource(source)})`;
  const columns = spec.features.map((f) => quoteIdent(f.name)).join(', ');
  if (source.kind === 'postgres') {
    const table = source.table.split('.').map(quoteIdent).join('.');
    await withSourceQuery(postgresUrl(source, deps, label), label, 'external.table', (client) =>
      client.query(`SELECT ${columns} FROM ${table} LIMIT 0`),
    );
    return;
  }
  const [first] = await parquetFiles(source, deps.store);
  if (!first) return;
  await fs.promises.mkdir(deps.scratchDir, { recursive: true });
  const local = path.join(deps.scratchDir, `external-check-${process.pid}-${Date.now()}.parquet`);
  try {
    await deps.store.download(first.key, local);
    const present = await withDuck(async (duck) =>
      (await duck.describe(`SELECT * FROM read_parquet(${sqlPath(local)})`)).map((c) => c.name),
    );
    const missing = spec.features.filter((f) => !present.includes(f.name)).map((f) => f.name);
    if (missing.length)
      throw new ValidationError(
        `${label}: ${first.key} lacks column(s) ${missing.join(', ')} (it has: ${present.join(', ')}).`,
        { location: 'external.prefix' },
      );
  } finally {
    await fs.promises.rm(local, { force: true });
  }
}
