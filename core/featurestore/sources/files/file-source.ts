import fs from 'node:fs';
import path from 'node:path';
import { sqlPath } from '../../../duckdb';
import { ValidationError } from '../../../errors';
import { quoteIdent } from '../../../identifiers';
import type { ObjectStore } from '../../../storage';
import { ObjectNotFoundError } from '../../../storage';
import type { ExtractContext, Source } from '../source';
import { checkCsvStructure, DEFAULT_MAX_RECORD_CHARS } from './csv-structure';

/** Files matched by a `*` pattern in the last path segment (sorted), or the path itself. */
function expandLocalGlob(file: string): string[] {
  const dir = path.dirname(file);
  const pattern = path.basename(file);
  if (!pattern.includes('*')) return fs.existsSync(file) ? [file] : [];
  if (dir.includes('*')) return [];
  const regex = new RegExp(
    `^${pattern
      .split('*')
      .map((part) => part.replace(/[.+?^${}()|[\]\\]/g, '\\$&'))
      .join('.*')}$`,
  );
  if (!fs.existsSync(dir)) return [];
  return fs
    .readdirSync(dir)
    .filter((name) => regex.test(name))
    .sort()
    .map((name) => path.join(dir, name));
}

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
    if (this.options.format === 'csv') await this.checkCsv(local);
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
        // The dialect is fixed, not sniffed: checkCsv has verified the structure against exactly it,
        // and strict mode makes DuckDB refuse anything that slipped past instead of repairing it.
        return `read_csv(${sqlPath(local)}, header = true, delim = ${sqlPath(this.options.delimiter ?? ',')}, quote = '"', escape = '"', strict_mode = true, null_padding = false, ignore_errors = false, max_line_size = ${4 * DEFAULT_MAX_RECORD_CHARS}, sample_size = -1)`;
      case 'parquet':
        return `read_parquet(${sqlPath(local)})`;
      case 'jsonl':
        return `read_json(${sqlPath(local)}, format = 'newline_delimited')`;
    }
  }

  /**
   * Checks every CSV file the source names (a local glob may match several) before DuckDB reads it,
   * and that they share one header, since DuckDB would otherwise match columns by position.
   */
  private async checkCsv(local: string): Promise<void> {
    const files = local === path.resolve(this.options.path) ? expandLocalGlob(local) : [local];
    if (files.length === 0) {
      throw new ValidationError(`${this.describe()}: no file matches. Check the path and the * pattern.`, {
        location: this.options.path,
      });
    }
    let first: { file: string; header: string } | null = null;
    for (const file of files) {
      const displayPath = files.length === 1 && !this.options.path.includes('*') ? this.options.path : file;
      const { header } = await checkCsvStructure(file, {
        displayPath,
        ...(this.options.delimiter ? { delimiter: this.options.delimiter } : {}),
      });
      const joined = header.join(', ');
      if (first === null) first = { file, header: joined };
      else if (first.header !== joined) {
        throw new ValidationError(
          `${this.describe()}: ${file} has header (${joined}) but ${first.file} has (${first.header}). Files read together must have the same columns in the same order.`,
          { location: file },
        );
      }
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
