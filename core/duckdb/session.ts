import { processTunables } from '../config';
import {
  DOUBLE,
  DuckDBDataChunk,
  DuckDBDoubleVector,
  DuckDBInstance,
  JSDuckDBValueConverter,
  listValue,
  type DuckDBConnection,
  type DuckDBValue,
} from '@duckdb/node-api';

/** A value bound to a `$n` placeholder. Arrays become DuckDB lists. */
export type SqlParam = string | number | boolean | null | bigint | Date | readonly (string | number)[];

/**
 * One chunk (up to 2,048 rows) of a streamed result, read by column without making an object per
 * row or per value where the column allows it.
 */
export interface ResultChunk {
  readonly rows: number;
  /**
   * Writes DOUBLE column `index` into `into[offset + i * stride]` for each row i (NULL → NaN): the
   * row-major model-input matrix is filled straight from DuckDB's vector. Throws for other types.
   */
  doublesInto(index: number, into: Float32Array | Float64Array, offset: number, stride: number): void;
  /** Column `index` as JavaScript values, converted as {@link DuckSession.all} converts them. */
  values(index: number): unknown[];
}

/** Options for {@link DuckSession.open}. */
export interface DuckSessionOptions {
  /** Worker threads for one query. @default FTI_DUCKDB_THREADS, else all cores */
  threads?: number;
  /** e.g. '4GB'. @default FTI_DUCKDB_MEMORY_LIMIT, else DuckDB's default (80% of RAM) */
  memoryLimit?: string;
  /** Spill folder for large joins and sorts. */
  tempDirectory?: string;
}

/**
 * An in-memory DuckDB database and one connection: the offline query engine. Parquet files are read
 * from local paths (the object cache), never over HTTP. Every value from outside is bound as a
 * parameter; identifiers are validated and quoted by callers.
 */
export class DuckSession {
  private constructor(
    private readonly instance: DuckDBInstance,
    private readonly connection: DuckDBConnection,
  ) {}

  /**
   * Opens a session. Threads and memory limit: the option when given, else FTI_DUCKDB_THREADS /
   * FTI_DUCKDB_MEMORY_LIMIT, else DuckDB's defaults; a bad variable throws a ConfigError naming it.
   */
  static async open(options: DuckSessionOptions = {}): Promise<DuckSession> {
    const config: Record<string, string> = {};
    const tunables = options.threads && options.memoryLimit ? undefined : processTunables();
    const threads = options.threads ?? tunables?.duckdbThreads;
    const memoryLimit = options.memoryLimit ?? tunables?.duckdbMemoryLimit;
    if (threads) config.threads = String(threads);
    if (memoryLimit) config.memory_limit = memoryLimit;
    if (options.tempDirectory) config.temp_directory = options.tempDirectory;
    const instance = await DuckDBInstance.create(':memory:', config);
    const connection = await instance.connect();
    // Event times are UTC wall time everywhere; zone-aware values convert in UTC, whatever the machine's zone.
    await connection.run("SET TimeZone = 'UTC'");
    return new DuckSession(instance, connection);
  }

  /** Runs a statement for its effect. */
  async run(sql: string, params: readonly SqlParam[] = []): Promise<void> {
    await this.connection.run(sql, params.map(toDuck));
  }

  /** Runs a query and returns rows as objects (BIGINT → bigint, TIMESTAMP → Date, lists → arrays). */
  async all<T = Record<string, unknown>>(sql: string, params: readonly SqlParam[] = []): Promise<T[]> {
    const reader = await this.connection.runAndReadAll(sql, params.map(toDuck));
    return reader.getRowObjectsJS() as T[];
  }

  /**
   * Runs a query and returns its result by column (values as in {@link all}), without making an
   * object per row: the cheaper shape for wide numeric batches (model inputs).
   */
  async columns<T = unknown>(
    sql: string,
    params: readonly SqlParam[] = [],
  ): Promise<{ rows: number; columns: Record<string, T[]> }> {
    const reader = await this.connection.runAndReadAll(sql, params.map(toDuck));
    return { rows: reader.currentRowCount, columns: reader.getColumnsObjectJS() as Record<string, T[]> };
  }

  /**
   * Streams a query's result chunk by chunk (DuckDB's vector size, 2,048 rows), in the query's order,
   * so a large result is never held whole in JavaScript. No other statement may run on this session
   * until the generator finishes: DuckDB closes a streaming result when its connection runs another.
   */
  async *stream(sql: string, params: readonly SqlParam[] = []): AsyncGenerator<ResultChunk> {
    const result = await this.connection.stream(sql, params.map(toDuck));
    for (;;) {
      const chunk = await result.fetchChunk();
      const rows = chunk?.rowCount ?? 0; // a native call: read once, not per value
      if (!chunk || rows === 0) return;
      yield {
        rows,
        doublesInto(index, into, offset, stride) {
          const vector = chunk.getColumnVector(index);
          if (!(vector instanceof DuckDBDoubleVector))
            throw new Error(`column ${index} is ${vector.type.toString()}, not DOUBLE`);
          for (let i = 0, at = offset; i < rows; i++, at += stride) {
            const v = vector.getItem(i);
            into[at] = v === null ? Number.NaN : v;
          }
        },
        values: (index) => chunk.convertColumnValues(index, JSDuckDBValueConverter),
      };
    }
  }

  /**
   * Appends a row-major matrix of numbers to an existing table whose columns are all DOUBLE, in
   * vector-sized chunks through DuckDB's appender (NaN becomes NULL): no text round trip, about
   * ten times faster than writing and parsing CSV for a million rows.
   */
  async appendMatrix(table: string, values: ArrayLike<number>, rows: number, cols: number): Promise<void> {
    const appender = await this.connection.createAppender(table);
    const types = Array.from({ length: cols }, () => DOUBLE);
    const size = 2048;
    for (let start = 0; start < rows; start += size) {
      const n = Math.min(size, rows - start);
      const columns: (number | null)[][] = Array.from({ length: cols }, () => new Array<number | null>(n));
      for (let r = 0; r < n; r++)
        for (let c = 0; c < cols; c++) {
          const v = values[(start + r) * cols + c]!;
          columns[c]![r] = Number.isNaN(v) ? null : v;
        }
      const chunk = DuckDBDataChunk.create(types, n);
      chunk.setColumns(columns);
      appender.appendDataChunk(chunk);
    }
    appender.closeSync();
  }

  /**
   * Appends columns of numbers (all the same length) to an existing table whose columns are all
   * DOUBLE, through DuckDB's appender in vector-sized chunks (NaN becomes NULL).
   */
  async appendColumns(table: string, columns: readonly Float64Array[], rows: number): Promise<void> {
    const appender = await this.connection.createAppender(table);
    const types = columns.map(() => DOUBLE);
    const size = 2048;
    for (let start = 0; start < rows; start += size) {
      const n = Math.min(size, rows - start);
      const values = columns.map((column) => {
        const out = new Array<number | null>(n);
        for (let r = 0; r < n; r++) {
          const v = column[start + r]!;
          out[r] = Number.isNaN(v) ? null : v;
        }
        return out;
      });
      const chunk = DuckDBDataChunk.create(types, n);
      chunk.setColumns(values);
      appender.appendDataChunk(chunk);
    }
    appender.closeSync();
  }

  /** First row of a query, or undefined. */
  async one<T = Record<string, unknown>>(
    sql: string,
    params: readonly SqlParam[] = [],
  ): Promise<T | undefined> {
    return (await this.all<T>(sql, params))[0];
  }

  /** Column names and DuckDB types of a query's result, without running it fully. */
  async describe(sql: string, params: readonly SqlParam[] = []): Promise<{ name: string; type: string }[]> {
    const rows = await this.all<{ column_name: string; column_type: string }>(`DESCRIBE ${sql}`, params);
    return rows.map((r) => ({ name: r.column_name, type: r.column_type }));
  }

  close(): void {
    this.connection.closeSync();
    this.instance.closeSync();
  }
}

/** Opens a session, runs `fn`, and always closes it. */
export async function withDuck<T>(
  fn: (duck: DuckSession) => Promise<T>,
  options?: DuckSessionOptions,
): Promise<T> {
  const duck = await DuckSession.open(options);
  try {
    return await fn(duck);
  } finally {
    duck.close();
  }
}

function toDuck(value: SqlParam): DuckDBValue {
  if (Array.isArray(value)) return listValue(value as (string | number)[]);
  if (value instanceof Date) return value.toISOString();
  return value as DuckDBValue;
}

/** A SQL string literal for a local file path (DuckDB table functions take no parameters for paths in every position). */
export function sqlPath(path: string): string {
  if (/[\0\n\r]/.test(path)) throw new Error('path contains control characters');
  return `'${path.replace(/'/g, "''")}'`;
}

/** A SQL string literal for text the code built (JSON pointers, labels); quotes doubled, NUL refused. */
export function sqlString(value: string): string {
  if (value.includes('\0')) throw new Error('string contains a NUL character');
  return `'${value.replace(/'/g, "''")}'`;
}

/** A DuckDB list literal of file paths, for read_parquet([...]). */
export function sqlPathList(paths: readonly string[]): string {
  return `[${paths.map(sqlPath).join(', ')}]`;
}
