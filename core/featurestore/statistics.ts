import type { DuckSession } from '../duckdb';
import { quoteIdent } from '../identifiers';
import type { FeatureType } from './feature-group';

/** Descriptive statistics of one column. Numeric fields are absent for non-numeric columns. */
export interface ColumnStatistics {
  readonly type: FeatureType;
  readonly count: number;
  readonly nulls: number;
  /** Approximate (HyperLogLog) number of distinct non-null values. */
  readonly distinct: number;
  readonly min?: number | string | null;
  readonly max?: number | string | null;
  readonly mean?: number | null;
  readonly stddev?: number | null;
  /** Approximate quantiles at 0.01, 0.05, 0.25, 0.5, 0.75, 0.95, 0.99. */
  readonly quantiles?: Readonly<Record<string, number | null>>;
  /** Equal-width histogram over [min, max]. */
  readonly histogram?: { readonly edges: readonly number[]; readonly counts: readonly number[] };
}

/** Statistics of a batch, by column name. */
export type BatchStatistics = Readonly<Record<string, ColumnStatistics>>;

const QUANTILES = [0.01, 0.05, 0.25, 0.5, 0.75, 0.95, 0.99] as const;
const NUMERIC: ReadonlySet<FeatureType> = new Set(['int', 'bigint', 'float', 'double']);
const ORDERED: ReadonlySet<FeatureType> = new Set(['timestamp', 'date', 'string', 'bool']);

/**
 * Computes per-column statistics of a DuckDB relation in one aggregate pass per column (plus one
 * histogram pass for numeric columns). Arrays (embeddings) get count/nulls only.
 */
export async function computeStatistics(
  duck: DuckSession,
  relation: string,
  columns: readonly { name: string; type: FeatureType }[],
  histogramBins = 20,
): Promise<BatchStatistics> {
  const out: Record<string, ColumnStatistics> = {};
  for (const { name, type } of columns) {
    const c = quoteIdent(name);
    if (NUMERIC.has(type)) {
      const q = QUANTILES.map((p, i) => `approx_quantile(${c}::DOUBLE, ${p}) AS q${i}`).join(', ');
      const row = await duck.one<Record<string, number | bigint | null>>(
        `SELECT count(*) AS total, count(${c}) AS count, approx_count_distinct(${c}) AS distinct, min(${c})::DOUBLE AS min, max(${c})::DOUBLE AS max,
                avg(${c})::DOUBLE AS mean, stddev_samp(${c})::DOUBLE AS stddev, ${q} FROM ${relation}`,
      );
      const min = num(row?.min);
      const max = num(row?.max);
      out[name] = {
        type,
        count: Number(row?.count ?? 0),
        nulls: Number(row?.total ?? 0) - Number(row?.count ?? 0),
        // HyperLogLog can overshoot on high-cardinality columns; never report more than the count.
        distinct: Math.min(Number(row?.distinct ?? 0), Number(row?.count ?? 0)),
        min,
        max,
        mean: num(row?.mean),
        stddev: num(row?.stddev),
        quantiles: Object.fromEntries(QUANTILES.map((p, i) => [String(p), num(row?.[`q${i}`])])),
        histogram:
          min === null || max === null
            ? { edges: [], counts: [] }
            : await histogram(duck, relation, c, min, max, histogramBins),
      };
    } else {
      const ordered = ORDERED.has(type);
      const row = await duck.one<Record<string, unknown>>(
        `SELECT count(*) AS total, count(${c}) AS count, ${type === 'float_array' ? '0' : `approx_count_distinct(${c})`} AS distinct
         ${ordered ? `, min(${c})::VARCHAR AS min, max(${c})::VARCHAR AS max` : ''} FROM ${relation}`,
      );
      out[name] = {
        type,
        count: Number(row?.count ?? 0),
        nulls: Number(row?.total ?? 0) - Number(row?.count ?? 0),
        distinct: Number(row?.distinct ?? 0),
        ...(ordered
          ? { min: (row?.min as string | null) ?? null, max: (row?.max as string | null) ?? null }
          : {}),
      };
    }
  }
  return out;
}

async function histogram(
  duck: DuckSession,
  relation: string,
  c: string,
  min: number,
  max: number,
  bins: number,
) {
  const width = (max - min) / bins || 1;
  const edges = Array.from({ length: bins + 1 }, (_, i) => min + i * width);
  const rows = await duck.all<{ b: bigint | number; n: bigint }>(
    `SELECT least(floor((${c}::DOUBLE - $1) / $2), $3 - 1)::INTEGER AS b, count(*) AS n FROM ${relation} WHERE ${c} IS NOT NULL GROUP BY 1`,
    [min, width, bins],
  );
  const counts = new Array<number>(bins).fill(0);
  for (const r of rows) counts[Number(r.b)] = Number(r.n);
  return { edges, counts };
}

function num(value: unknown): number | null {
  if (value === null || value === undefined) return null;
  const n = Number(value);
  return Number.isFinite(n) ? n : null;
}
