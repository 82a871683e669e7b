import fs from 'node:fs';
import path from 'node:path';
import { sqlPath, type DuckSession } from '../../duckdb';
import { ValidationError } from '../../errors';
import { isIdentifier, quoteIdent } from '../../identifiers';

/** What a transformation receives besides its input. */
export interface TransformContext {
  readonly duck: DuckSession;
  readonly scratchDir: string;
}

/**
 * A named feature transformation shipped with the features worker. It reads DuckDB relation `input`
 * (raw rows with `_fti_row`) and creates table `output` (rows shaped like the feature group, keeping
 * `_fti_row` when rows map one to one so errors can name input rows).
 */
export interface Transformation {
  readonly kind: 'rows' | 'window' | 'sql';
  apply(input: string, output: string, ctx: TransformContext): Promise<void>;
}

/** A per-row function: return the output row, or null to drop the row. */
export type RowFunction = (row: Readonly<Record<string, unknown>>) => Record<string, unknown> | null;

/**
 * A per-row TypeScript transformation. Rows stream from DuckDB in chunks of `chunkSize`, through the
 * function, into newline-delimited JSON that DuckDB reads back.
 */
export function rowTransformation(fn: RowFunction, options: { chunkSize?: number } = {}): Transformation {
  return {
    kind: 'rows',
    async apply(input, output, { duck, scratchDir }) {
      await fs.promises.mkdir(scratchDir, { recursive: true });
      const file = path.join(scratchDir, `rows-${process.pid}-${Date.now()}.jsonl`);
      const out = fs.createWriteStream(file);
      const chunk = options.chunkSize ?? 50_000;
      let written = 0;
      try {
        for (let offset = 0; ; offset += chunk) {
          const rows = await duck.all(
            `SELECT * FROM ${input} ORDER BY _fti_row LIMIT ${chunk} OFFSET ${offset}`,
          );
          if (rows.length === 0) break;
          const lines: string[] = [];
          for (const row of rows) {
            const result = fn(row);
            if (result === null) continue;
            lines.push(JSON.stringify({ ...result, _fti_row: row._fti_row }, jsonReplacer));
            written += 1;
          }
          if (lines.length && !out.write(`${lines.join('\n')}\n`))
            await new Promise<void>((r) => out.once('drain', () => r()));
        }
      } finally {
        await new Promise<void>((resolve) => out.end(resolve));
      }
      try {
        if (written === 0)
          await duck.run(`CREATE OR REPLACE TABLE ${output} AS SELECT * FROM ${input} WHERE FALSE`);
        else
          await duck.run(
            `CREATE OR REPLACE TABLE ${output} AS SELECT * FROM read_json(${sqlPath(file)}, format = 'newline_delimited', sample_size = -1)`,
          );
      } finally {
        await fs.promises.rm(file, { force: true });
      }
    },
  };
}

function jsonReplacer(_key: string, value: unknown): unknown {
  if (typeof value === 'bigint')
    return Number.isSafeInteger(Number(value)) ? Number(value) : value.toString();
  return value;
}

/** A trailing-window aggregate over the rows of one key. */
export interface WindowFeature {
  /** Output column name. */
  readonly name: string;
  readonly fn: 'count' | 'sum' | 'mean' | 'min' | 'max' | 'stddev';
  /** Input column (not needed for count). */
  readonly column?: string;
  /** Trailing window length, e.g. '10m', '1h', '1d', '7d' (inclusive of the current row). */
  readonly window: string;
}

/** Per-key trailing-window aggregations, compiled to DuckDB window functions. */
export interface WindowAggregationSpec {
  /** Key columns (the feature group's primary key). */
  readonly partitionBy: readonly string[];
  /** Event-time column ordering each key's rows. */
  readonly timeColumn: string;
  /** Input columns copied to the output unchanged (keys and time are always kept). */
  readonly keep?: readonly string[];
  readonly features: readonly WindowFeature[];
}

const UNITS: Record<string, string> = { s: 'SECOND', m: 'MINUTE', h: 'HOUR', d: 'DAY' };

/** Parses '10m' | '1h' | '7d' | '30s' into a DuckDB interval literal; throws on anything else. */
export function intervalOf(window: string): string {
  const match = /^(\d{1,6})([smhd])$/.exec(window);
  if (!match)
    throw new ValidationError(
      `window "${window}" must be a number followed by s, m, h or d (e.g. 10m, 1h, 7d).`,
    );
  return `INTERVAL ${Number(match[1])} ${UNITS[match[2]!]}`;
}

/**
 * Per-key trailing-window aggregates (counts, sums, means, … over 10 minutes, 1 hour, 7 days),
 * computed by DuckDB `RANGE BETWEEN <window> PRECEDING AND CURRENT ROW`: one output row per input
 * row, so each event carries the aggregates as of its own time — exactly what point-in-time joins
 * need.
 */
export function windowAggregation(spec: WindowAggregationSpec): Transformation {
  const names = [
    ...spec.partitionBy,
    spec.timeColumn,
    ...(spec.keep ?? []),
    ...spec.features.map((f) => f.name),
  ];
  for (const name of names) {
    if (!isIdentifier(name))
      throw new ValidationError(`window aggregation: "${name}" is not a valid column name.`);
  }
  for (const f of spec.features) {
    if (f.fn !== 'count' && !f.column)
      throw new ValidationError(`window feature ${f.name}: ${f.fn} needs a column.`);
    if (f.column && !isIdentifier(f.column))
      throw new ValidationError(`window feature ${f.name}: "${f.column}" is not a valid column name.`);
  }
  return {
    kind: 'window',
    async apply(input, output, { duck }) {
      const partition = spec.partitionBy.map(quoteIdent).join(', ');
      const time = quoteIdent(spec.timeColumn);
      const fnSql: Record<WindowFeature['fn'], (c: string) => string> = {
        count: (c) => (c === '*' ? 'count(*)' : `count(${c})`),
        sum: (c) => `sum(${c})`,
        mean: (c) => `avg(${c})`,
        min: (c) => `min(${c})`,
        max: (c) => `max(${c})`,
        stddev: (c) => `stddev_samp(${c})`,
      };
      const aggregates = spec.features.map((f) => {
        const column = f.column ? quoteIdent(f.column) : '*';
        return `${fnSql[f.fn](column)} OVER (PARTITION BY ${partition} ORDER BY CAST(${time} AS TIMESTAMP) RANGE BETWEEN ${intervalOf(f.window)} PRECEDING AND CURRENT ROW) AS ${quoteIdent(f.name)}`;
      });
      const kept = [...spec.partitionBy, spec.timeColumn, ...(spec.keep ?? [])].map(quoteIdent);
      await duck.run(
        `CREATE OR REPLACE TABLE ${output} AS SELECT ${kept.join(', ')}, ${aggregates.join(', ')}, _fti_row FROM ${input}`,
      );
    },
  };
}

/** A transformation written as one DuckDB SELECT over `{{input}}` (for vectorised feature logic). */
export function sqlTransformation(select: (input: string) => string): Transformation {
  return {
    kind: 'sql',
    async apply(input, output, { duck }) {
      await duck.run(`CREATE OR REPLACE TABLE ${output} AS ${select(input)}`);
    },
  };
}
