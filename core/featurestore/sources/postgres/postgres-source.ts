import fs from 'node:fs';
import path from 'node:path';
import pg from 'pg';
import Cursor from 'pg-cursor';
import { redactUrl } from '../../../config';
import { sqlPath } from '../../../duckdb';
import { ServiceUnavailableError, ValidationError } from '../../../errors';
import { quoteIdent } from '../../../identifiers';
import type { ExtractContext, Source } from '../source';
import { DEFAULT_SOURCE_STATEMENT_TIMEOUT_SECONDS } from '../spec';

/** Options for {@link PostgresSource}. */
export interface PostgresSourceOptions {
  readonly url: string;
  readonly query: string;
  readonly timeColumn?: string;
  /** Rows fetched per cursor round trip. @default 10000 */
  readonly batchSize?: number;
  /** The query is cancelled after this many milliseconds. @default 300000 */
  readonly statementTimeoutMs?: number;
}

/** Postgres error codes a source query can raise that mean "fix the query", with the fix. */
const QUERY_FIXES: Readonly<Record<string, string>> = {
  '25006': 'source queries run in a READ ONLY transaction; use a SELECT that writes nothing',
  '57014':
    'the query ran past the statement timeout; add a filter or an index, or raise source.statementTimeoutSeconds',
  '42601': 'fix the SQL syntax (one SELECT, no trailing statements)',
};

/**
 * Rows of a SQL query against a PostgreSQL database, read through a cursor in batches (memory stays
 * flat) and loaded into DuckDB via newline-delimited JSON. The window is bound as parameters. The
 * query runs inside a READ ONLY transaction with a statement timeout, as one statement of the
 * extended protocol (so it cannot end the transaction or chain other statements). NaN and
 * ±Infinity survive the trip as the words `NaN`/`Infinity`/`-Infinity`, so the schema check can
 * reject or keep them instead of JSON turning them into null.
 */
export class PostgresSource implements Source {
  constructor(private readonly options: PostgresSourceOptions) {}

  describe(): string {
    return `postgres query at ${redactUrl(this.options.url)}`;
  }

  async load(target: string, ctx: ExtractContext): Promise<{ rows: number }> {
    let text = this.options.query.trim().replace(/;\s*$/, '');
    const params: Date[] = [];
    if (ctx.window) {
      if (!this.options.timeColumn) {
        throw new ValidationError(
          `${this.describe()}: a window was given but the source has no timeColumn; set source.timeColumn.`,
        );
      }
      const c = quoteIdent(this.options.timeColumn);
      text = `SELECT * FROM (${text}) AS fti_source WHERE ${c} >= $1 AND ${c} < $2`;
      params.push(ctx.window.start, ctx.window.end);
    }
    const client = new pg.Client({ connectionString: this.options.url, connectionTimeoutMillis: 10_000 });
    // The source server going away mid-query must fail the query, not crash the worker ('error' unhandled).
    client.on('error', () => undefined);
    try {
      await client.connect();
    } catch (error) {
      throw new ServiceUnavailableError(
        'postgres-source',
        `${this.describe()}: cannot connect (${(error as Error).message}).`,
        { cause: error },
      );
    }
    // An error on an idle client (server restart) must not crash the worker; the query fails instead.
    client.on('error', () => undefined);
    const file = path.join(ctx.scratchDir, `pg-source-${process.pid}-${Date.now()}.jsonl`);
    await fs.promises.mkdir(ctx.scratchDir, { recursive: true });
    const out = fs.createWriteStream(file);
    let rows = 0;
    try {
      await client.query('BEGIN TRANSACTION READ ONLY');
      await client.query("SELECT set_config('statement_timeout', $1, true)", [
        String(this.options.statementTimeoutMs ?? DEFAULT_SOURCE_STATEMENT_TIMEOUT_SECONDS * 1000),
      ]);
      const cursor = client.query(new Cursor(text, params));
      for (;;) {
        let batch: Record<string, unknown>[];
        try {
          batch = await cursor.read(this.options.batchSize ?? 10_000);
        } catch (error) {
          throw this.queryFailed(error);
        }
        if (batch.length === 0) break;
        for (const row of batch) {
          rows += 1;
          if (!out.write(`${JSON.stringify({ ...row, _fti_row: rows }, keepNonFinite)}\n`))
            await new Promise<void>((r) => out.once('drain', () => r()));
        }
        ctx.onProgress?.(`read ${rows} rows`);
      }
      await cursor.close();
      await client.query('COMMIT');
    } finally {
      await new Promise<void>((resolve) => out.end(resolve));
      await client.end().catch(() => undefined);
    }
    try {
      if (rows === 0) {
        await ctx.duck.run(
          `CREATE OR REPLACE TABLE ${target} AS SELECT NULL::BIGINT AS _fti_row WHERE FALSE`,
        );
      } else {
        await ctx.duck.run(
          `CREATE OR REPLACE TABLE ${target} AS SELECT * FROM read_json(${sqlPath(file)}, format = 'newline_delimited', sample_size = -1)`,
        );
      }
    } finally {
      await fs.promises.rm(file, { force: true });
    }
    return { rows };
  }

  private queryFailed(error: unknown): Error {
    const code = (error as { code?: unknown }).code;
    const message = (error as Error).message;
    if (isSourceOutage(error)) {
      // connection lost, server out of resources or shutting down: an outage, worth a retry
      return new ServiceUnavailableError('postgres-source', `${this.describe()}: ${message}`, {
        cause: error,
      });
    }
    const fix = (typeof code === 'string' && QUERY_FIXES[code]) || 'fix the source query or its time column';
    return new ValidationError(`${this.describe()}: the query failed: ${message}. To fix: ${fix}.`, {
      location: 'source.query',
      cause: error,
    });
  }
}

/**
 * Whether a source-database error is an outage worth a retry (connection lost, server out of
 * resources or shutting down) rather than a query to fix.
 */
export function isSourceOutage(error: unknown): boolean {
  const code = (error as { code?: unknown }).code;
  return typeof code === 'string' && /^(08|53|57P)/.test(code);
}

/** JSON replacer that keeps non-finite numbers as their names (JSON itself would write null). */
function keepNonFinite(_key: string, value: unknown): unknown {
  if (typeof value === 'number' && !Number.isFinite(value))
    return Number.isNaN(value) ? 'NaN' : value > 0 ? 'Infinity' : '-Infinity';
  return value;
}
