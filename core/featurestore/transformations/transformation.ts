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
 *
 * The optional capability fields tell a stream runner how to compute the same rows one event at a
 * time; a transformation with neither (a {@link sqlTransformation}) runs in batch only.
 */
export interface Transformation {
  readonly kind: 'rows' | 'window' | 'sql';
  apply(input: string, output: string, ctx: TransformContext): Promise<void>;
  /**
   * Set by {@link windowAggregation}: the spec it compiles, so a stream runner can build the
   * incremental operator whose rows equal this transformation's on the same events.
   */
  readonly window?: WindowAggregationSpec;
  /**
   * Set by {@link rowTransformation}: the per-row function it applies, so a stream runner can call it
   * on each event (same code, same result as the batch form).
   */
  readonly rowFunction?: RowFunction;
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
    rowFunction: fn,
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
  /**
   * `count` counts non-null `column` values (all rows without a column); `sum`, `mean`, `min`, `max`
   * and `stddev` (sample; null below two values) aggregate the non-null values and are null when
   * there are none; `last` is the latest non-null value by (event time, input order), so ties at one
   * timestamp resolve deterministically to the row that came last.
   */
  readonly fn: 'count' | 'sum' | 'mean' | 'min' | 'max' | 'stddev' | 'last';
  /** Input column (not needed for count). */
  readonly column?: string;
  /** Trailing window length, e.g. '500ms', '10m', '1h', '1d', '7d' (inclusive of the current row). */
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
  /**
   * Added to the output's time column (same syntax as a window, e.g. '1ms'), so each row describes
   * the state just after its event: a point-in-time join at the event's own time then sees only
   * earlier events (a transaction's own amount never leaks into its features). With an offset the
   * output time column is a TIMESTAMP. @default no offset (the input time unchanged)
   */
  readonly timeOffset?: string;
}

/** A {@link WindowAggregationSpec} checked and with its durations in milliseconds. */
export interface ResolvedWindowSpec {
  readonly partitionBy: readonly string[];
  readonly timeColumn: string;
  readonly keep: readonly string[];
  readonly features: readonly (WindowFeature & { readonly windowMs: number })[];
  readonly timeOffsetMs: number;
  /** The longest feature window: how far back any output row can look. */
  readonly longestWindowMs: number;
}

const WINDOW_FNS: readonly WindowFeature['fn'][] = ['count', 'sum', 'mean', 'min', 'max', 'stddev', 'last'];
const DURATION = /^(\d{1,6})(ms|s|m|h|d)$/;
const UNITS: Record<string, { sql: string; ms: number }> = {
  ms: { sql: 'MILLISECOND', ms: 1 },
  s: { sql: 'SECOND', ms: 1_000 },
  m: { sql: 'MINUTE', ms: 60_000 },
  h: { sql: 'HOUR', ms: 3_600_000 },
  d: { sql: 'DAY', ms: 86_400_000 },
};

function parseDuration(text: string, what: string): { count: number; unit: { sql: string; ms: number } } {
  const match = DURATION.exec(text);
  if (!match)
    throw new ValidationError(
      `${what} "${text}" must be a number followed by ms, s, m, h or d (e.g. 500ms, 10m, 1h, 7d).`,
    );
  return { count: Number(match[1]), unit: UNITS[match[2]!]! };
}

/** Parses '500ms' | '30s' | '10m' | '1h' | '7d' into a DuckDB interval literal; throws on anything else. */
export function intervalOf(window: string): string {
  const { count, unit } = parseDuration(window, 'window');
  return `INTERVAL ${count} ${unit.sql}`;
}

/** The same durations as {@link intervalOf}, in milliseconds (a day is 24 h: event times are UTC). */
export function durationMs(window: string): number {
  const { count, unit } = parseDuration(window, 'window');
  return count * unit.ms;
}

/**
 * Checks a window spec (identifiers, a column for every fn but count, durations) and resolves its
 * durations. Both the batch form and the streaming operator start here, so they accept exactly the
 * same specs.
 */
export function resolveWindowSpec(spec: WindowAggregationSpec): ResolvedWindowSpec {
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
  const features = spec.features.map((f) => {
    if (!WINDOW_FNS.includes(f.fn))
      throw new ValidationError(`window feature ${f.name}: fn must be one of ${WINDOW_FNS.join(', ')}.`);
    if (f.fn !== 'count' && !f.column)
      throw new ValidationError(`window feature ${f.name}: ${f.fn} needs a column.`);
    if (f.column && !isIdentifier(f.column))
      throw new ValidationError(`window feature ${f.name}: "${f.column}" is not a valid column name.`);
    const { count, unit } = parseDuration(f.window, `window feature ${f.name}: window`);
    return { ...f, windowMs: count * unit.ms };
  });
  let timeOffsetMs = 0;
  if (spec.timeOffset !== undefined) {
    const { count, unit } = parseDuration(spec.timeOffset, 'window aggregation: timeOffset');
    timeOffsetMs = count * unit.ms;
  }
  return {
    partitionBy: spec.partitionBy,
    timeColumn: spec.timeColumn,
    keep: spec.keep ?? [],
    features,
    timeOffsetMs,
    longestWindowMs: Math.max(0, ...features.map((f) => f.windowMs)),
  };
}

/**
 * Per-key trailing-window aggregates (counts, sums, means, … over 10 minutes, 1 hour, 7 days),
 * computed by DuckDB `RANGE BETWEEN <window> PRECEDING AND CURRENT ROW`: one output row per input
 * row, so each event carries the aggregates as of its own time — exactly what point-in-time joins
 * need. Rows of one key at the same time are peers: each sees all of them. The returned
 * transformation carries the spec (`window`), so a stream computes the same rows incrementally.
 */
export function windowAggregation(spec: WindowAggregationSpec): Transformation {
  resolveWindowSpec(spec);
  return {
    kind: 'window',
    window: spec,
    async apply(input, output, { duck }) {
      const partition = spec.partitionBy.map(quoteIdent).join(', ');
      const time = quoteIdent(spec.timeColumn);
      const orderTime = `CAST(${time} AS TIMESTAMP)`;
      // `last` ranks by (time, input order) so ties at one timestamp resolve like the stream does.
      const lastKey = `struct_pack(t := ${orderTime}, r := _fti_row)`;
      const fnSql: Record<WindowFeature['fn'], (c: string) => string> = {
        count: (c) => (c === '*' ? 'count(*)' : `count(${c})`),
        sum: (c) => `sum(${c})`,
        mean: (c) => `avg(${c})`,
        min: (c) => `min(${c})`,
        max: (c) => `max(${c})`,
        stddev: (c) => `stddev_samp(${c})`,
        last: (c) => `arg_max(${c}, ${lastKey}) FILTER (WHERE ${c} IS NOT NULL)`,
      };
      const aggregates = spec.features.map((f) => {
        const column = f.column ? quoteIdent(f.column) : '*';
        return `${fnSql[f.fn](column)} OVER (PARTITION BY ${partition} ORDER BY ${orderTime} RANGE BETWEEN ${intervalOf(f.window)} PRECEDING AND CURRENT ROW) AS ${quoteIdent(f.name)}`;
      });
      const timeOut =
        spec.timeOffset === undefined ? time : `${orderTime} + ${intervalOf(spec.timeOffset)} AS ${time}`;
      const kept = [...spec.partitionBy.map(quoteIdent), timeOut, ...(spec.keep ?? []).map(quoteIdent)];
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
