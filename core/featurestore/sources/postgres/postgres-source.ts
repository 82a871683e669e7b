import fs from 'node:fs';
import path from 'node:path';
import pg from 'pg';
import Cursor from 'pg-cursor';
import { redactUrl } from '../../../config';
import { sqlPath } from '../../../duckdb';
import { ServiceUnavailableError, ValidationError } from '../../../errors';
import { quoteIdent } from '../../../identifiers';
import type { ExtractContext, Source } from '../source';

/** Options for {@link PostgresSource}. */
export interface PostgresSourceOptions {
  readonly url: string;
  readonly query: string;
  readonly timeColumn?: string;
  /** Rows fetched per cursor round trip. @default 10000 */
  readonly batchSize?: number;
}

/**
 * Rows of a SQL query against a PostgreSQL database, read through a cursor in batches (memory stays
 * flat) and loaded into DuckDB via newline-delimited JSON. The window is bound as parameters.
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
    try {
      await client.connect();
    } catch (error) {
      throw new ServiceUnavailableError(
        'postgres-source',
        `${this.describe()}: cannot connect (${(error as Error).message}).`,
        { cause: error },
      );
    }
    const file = path.join(ctx.scratchDir, `pg-source-${process.pid}-${Date.now()}.jsonl`);
    await fs.promises.mkdir(ctx.scratchDir, { recursive: true });
    const out = fs.createWriteStream(file);
    let rows = 0;
    try {
      const cursor = client.query(new Cursor(text, params));
      for (;;) {
        let batch: Record<string, unknown>[];
        try {
          batch = await cursor.read(this.options.batchSize ?? 10_000);
        } catch (error) {
          const message = (error as Error).message;
          throw new ValidationError(
            `${this.describe()}: the query failed: ${message}. Fix the source query or its time column.`,
            { cause: error },
          );
        }
        if (batch.length === 0) break;
        for (const row of batch) {
          rows += 1;
          if (!out.write(`${JSON.stringify({ ...row, _fti_row: rows })}\n`))
            await new Promise<void>((r) => out.once('drain', () => r()));
        }
        ctx.onProgress?.(`read ${rows} rows`);
      }
      await cursor.close();
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
}
