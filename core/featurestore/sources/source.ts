import type { DuckSession } from '../../duckdb';

/** A half-open time window `[start, end)`. */
export interface TimeWindow {
  readonly start: Date;
  readonly end: Date;
}

/** What a source needs at run time: a scratch folder and a progress callback. */
export interface ExtractContext {
  /** DuckDB session the source loads into. */
  readonly duck: DuckSession;
  /** Local folder for downloaded files. */
  readonly scratchDir: string;
  /** Optional window: keep rows whose time column is in `[start, end)`. */
  readonly window?: TimeWindow;
  readonly onProgress?: (message: string) => void;
}

/**
 * The source port: loads raw rows into DuckDB table `target` with a 1-based `_fti_row` column in
 * input order. A bad input (missing file, unreadable format, unknown time column) raises a
 * non-retryable `ValidationError` naming the source and the fix; an outage raises a retryable error.
 * Implementations: {@link FileSource} (CSV, Parquet, JSON lines; local or S3), PostgresSource.
 */
export interface Source {
  /** Short description for messages, e.g. `csv file s3://fti/raw/txns.csv`. */
  describe(): string;
  load(target: string, context: ExtractContext): Promise<{ rows: number }>;
}
