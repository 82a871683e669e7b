import fs from 'node:fs';
import path from 'node:path';
import { sqlPath } from '../../../duckdb';
import { ValidationError } from '../../../errors';
import { quoteIdent } from '../../../identifiers';
import type { ObjectStore } from '../../../storage';
import { ObjectNotFoundError } from '../../../storage';
import type { ExtractContext, Source } from '../source';

/** Options for {@link FileSource}. */
export interface FileSourceOptions {
  readonly format: 'csv' | 'parquet' | 'jsonl';
  /** Local path (glob allowed) or `s3://bucket/key`. */
  readonly path: string;
  readonly timeColumn?: string;
  readonly delimiter?: string;
  /** Resolves an `s3://bucket` URL to a store for that bucket. */
  readonly storeFor?: (bucket: string) => ObjectStore;
}

/** CSV, Parquet or JSON-lines file(s), local or in S3, read by DuckDB. */
export class FileSource implements Source {
  constructor(private readonly options: FileSourceOptions) {}

  describe(): string {
    return `${this.options.format} file ${this.options.path}`;
  }

  async load(target: string, ctx: ExtractContext): Promise<{ rows: number }> {
    const local = await this.localPath(ctx);
    const reader = this.reader(local);
    const where: string[] = [];
    const params: Date[] = [];
    if (ctx.window) {
      const column = this.options.timeColumn;
      if (!column) {
        throw new ValidationError(
          `${this.describe()}: a window was given but the source has no timeColumn; set source.timeColumn.`,
        );
      }
      const columns = await this.columns(ctx, reader);
      if (!columns.includes(column)) {
        throw new ValidationError(
          `${this.describe()}: time column "${column}" is not in the file (columns: ${columns.join(', ')}).`,
        );
      }
      params.push(ctx.window.start, ctx.window.end);
      // TRY_CAST keeps unparsable times for the schema check, which reports them with row numbers.
      where.push(
        `(TRY_CAST(${quoteIdent(column)} AS TIMESTAMP) IS NULL OR (TRY_CAST(${quoteIdent(column)} AS TIMESTAMP) >= $1::TIMESTAMP AND TRY_CAST(${quoteIdent(column)} AS TIMESTAMP) < $2::TIMESTAMP))`,
      );
    }
    try {
      await ctx.duck.run(
        `CREATE OR REPLACE TABLE ${target} AS SELECT * FROM (SELECT *, row_number() OVER () AS _fti_row FROM ${reader}) ${where.length ? `WHERE ${where.join(' AND ')}` : ''}`,
        params.map((d) => d.toISOString().replace('Z', '')),
      );
    } catch (error) {
      throw this.unreadable(error);
    }
    const n = await ctx.duck.one<{ n: bigint }>(`SELECT count(*) AS n FROM ${target}`);
    return { rows: Number(n?.n ?? 0) };
  }

  private reader(local: string): string {
    switch (this.options.format) {
      case 'csv':
        return `read_csv(${sqlPath(local)}, header = true, delim = ${sqlPath(this.options.delimiter ?? ',')}, sample_size = -1)`;
      case 'parquet':
        return `read_parquet(${sqlPath(local)})`;
      case 'jsonl':
        return `read_json(${sqlPath(local)}, format = 'newline_delimited')`;
    }
  }

  private async columns(ctx: ExtractContext, reader: string): Promise<string[]> {
    try {
      return (await ctx.duck.describe(`SELECT * FROM ${reader}`)).map((c) => c.name);
    } catch (error) {
      throw this.unreadable(error);
    }
  }

  private unreadable(error: unknown): ValidationError {
    const reason = (error instanceof Error ? error.message : String(error)).split('\n')[0]!.slice(0, 300);
    return new ValidationError(
      `${this.describe()} cannot be read as ${this.options.format}: ${reason}. Check the file and the source's format.`,
      {
        location: this.options.path,
        cause: error,
      },
    );
  }

  private async localPath(ctx: ExtractContext): Promise<string> {
    const p = this.options.path;
    if (!p.startsWith('s3://')) {
      const hasGlob = p.includes('*');
      if (!hasGlob && !fs.existsSync(p)) {
        throw new ValidationError(
          `${this.describe()}: no such file. Check the path (it is read on the features worker's machine).`,
          { location: p },
        );
      }
      return path.resolve(p);
    }
    const match = /^s3:\/\/([^/]+)\/(.+)$/.exec(p);
    if (!match || !this.options.storeFor)
      throw new ValidationError(`${this.describe()}: expected s3://bucket/key.`, { location: p });
    const store = this.options.storeFor(match[1]!);
    const target = path.join(ctx.scratchDir, `${Date.now()}-${path.basename(match[2]!)}`);
    ctx.onProgress?.(`downloading ${p}`);
    try {
      await store.download(match[2]!, target);
    } catch (error) {
      if (error instanceof ObjectNotFoundError) {
        throw new ValidationError(`${this.describe()}: no such object. Check the bucket and key.`, {
          location: p,
          cause: error,
        });
      }
      throw error;
    }
    return target;
  }
}
