import type { DuckSession } from '../duckdb';
import { quoteIdent } from '../identifiers';
import type { FeatureType } from './feature-group';
import {
  HyperLogLog,
  mergeAllColumnSketches,
  nullSketch,
  QuantileSketch,
  sampleStddev,
  sketchRelation,
  NUMERIC_TYPES,
  type ColumnSketchState,
  type NonFiniteCounts,
} from './sketches';

/** Descriptive statistics of one column. Numeric fields are absent for non-numeric columns. */
export interface ColumnStatistics {
  readonly type: FeatureType;
  /** Non-null values (non-finite ones included). */
  readonly count: number;
  readonly nulls: number;
  /** Approximate (HyperLogLog, ≈2.3 % standard error) number of distinct non-null values. */
  readonly distinct: number;
  /** Numeric: smallest finite value. Ordered types: smallest value as text. */
  readonly min?: number | string | null;
  readonly max?: number | string | null;
  /** Numeric: mean of the finite values. */
  readonly mean?: number | null;
  /** Numeric: sample standard deviation of the finite values. */
  readonly stddev?: number | null;
  /** Numeric: sum of the finite values. */
  readonly sum?: number | null;
  /** Numeric: NaN / +Infinity / −Infinity counts (non-zero only for features that allow them). */
  readonly nonFinite?: NonFiniteCounts;
  /** Quantiles at 0.01, 0.05, 0.25, 0.5, 0.75, 0.95, 0.99, each within 1 % of the value. */
  readonly quantiles?: Readonly<Record<string, number | null>>;
  /** Equal-width histogram over [min, max] of the finite values. */
  readonly histogram?: { readonly edges: readonly number[]; readonly counts: readonly number[] };
  /** The mergeable sketch these figures were derived from (stored per commit, merged per group). */
  readonly sketch?: ColumnSketchState;
}

/** Statistics of a batch, by column name. */
export type BatchStatistics = Readonly<Record<string, ColumnStatistics>>;

const QUANTILES = [0.01, 0.05, 0.25, 0.5, 0.75, 0.95, 0.99] as const;

/**
 * Computes per-column statistics of a DuckDB relation from mergeable sketches (kept in each
 * column's `sketch`), plus an exact histogram pass for numeric columns. Never fails on values:
 * non-finite numbers are counted in `nonFinite` and left out of the moments, quantiles and histogram.
 */
export async function computeStatistics(
  duck: DuckSession,
  relation: string,
  columns: readonly { name: string; type: FeatureType }[],
  histogramBins = 20,
): Promise<BatchStatistics> {
  const sketches = await sketchRelation(duck, relation, columns);
  const out: Record<string, ColumnStatistics> = {};
  for (const { name, type } of columns) {
    const sketch = sketches[name]!;
    const summary = summarizeSketch(sketch, histogramBins);
    if (NUMERIC_TYPES.has(type) && typeof sketch.min === 'number' && typeof sketch.max === 'number') {
      out[name] = {
        ...summary,
        histogram: await exactHistogram(
          duck,
          relation,
          quoteIdent(name),
          sketch.min,
          sketch.max,
          histogramBins,
        ),
      };
    } else out[name] = summary;
  }
  return out;
}

/**
 * The statistics a sketch describes. The histogram is rebuilt from the quantile buckets (each
 * bucket's count placed at its midpoint, clamped to [min, max]): exact bin counts except for values
 * within 1 % of a bin edge.
 */
export function summarizeSketch(sketch: ColumnSketchState, histogramBins = 20): ColumnStatistics {
  const count = sketch.rows - sketch.nulls;
  const hll = sketch.hll ? HyperLogLog.fromJSON(sketch.hll) : undefined;
  // HyperLogLog can overshoot; never report more distinct values than values.
  const distinct = hll ? Math.min(hll.estimate(), count) : 0;
  const base = { type: sketch.type, count, nulls: sketch.nulls, distinct, sketch };
  if (!NUMERIC_TYPES.has(sketch.type)) {
    return sketch.type === 'float_array' ? base : { ...base, min: sketch.min, max: sketch.max };
  }
  const moments = sketch.moments ?? { n: 0, mean: 0, m2: 0 };
  const q = sketch.quantiles ? QuantileSketch.fromJSON(sketch.quantiles) : new QuantileSketch();
  const min = typeof sketch.min === 'number' ? sketch.min : null;
  const max = typeof sketch.max === 'number' ? sketch.max : null;
  const clamp = (v: number | null) =>
    v === null || min === null || max === null ? v : Math.min(max, Math.max(min, v));
  const sum = moments.n === 0 ? null : moments.mean * moments.n;
  return {
    ...base,
    min,
    max,
    mean: moments.n === 0 ? null : moments.mean,
    stddev: sampleStddev(moments),
    sum: sum !== null && Number.isFinite(sum) ? sum : null,
    nonFinite: sketch.nonFinite ?? { nan: 0, posInf: 0, negInf: 0 },
    quantiles: Object.fromEntries(QUANTILES.map((p) => [String(p), clamp(q.quantile(p))])),
    histogram:
      min === null || max === null ? { edges: [], counts: [] } : sketchHistogram(q, min, max, histogramBins),
  };
}

/**
 * Merges per-batch statistics (each column carrying its `sketch`) into the statistics of all
 * those batches together. A column a batch lacks (a feature appended later) counts as nulls for
 * that batch's rows. Batches without sketches (written before sketches existed) are skipped and
 * reported in `skipped`.
 */
export function mergeStatistics(
  batches: readonly BatchStatistics[],
  columns: readonly { name: string; type: FeatureType }[],
  histogramBins = 20,
): { statistics: BatchStatistics; skipped: number } {
  const parts = new Map<string, ColumnSketchState[]>(columns.map((c) => [c.name, []]));
  let skipped = 0;
  for (const batch of batches) {
    const sketches = Object.values(batch).flatMap((s) => (s.sketch ? [s.sketch] : []));
    if (sketches.length === 0) {
      skipped++;
      continue;
    }
    const rows = Math.max(...sketches.map((s) => s.rows));
    for (const { name, type } of columns)
      parts.get(name)!.push(batch[name]?.sketch ?? nullSketch(type, rows));
  }
  const statistics: Record<string, ColumnStatistics> = {};
  for (const { name, type } of columns) {
    const merged = mergeAllColumnSketches(parts.get(name)!) ?? nullSketch(type, 0);
    statistics[name] = summarizeSketch(merged, histogramBins);
  }
  return { statistics, skipped };
}

/** Drops the sketches (for display and for `--json` output that should stay small). */
export function withoutSketches(statistics: BatchStatistics): BatchStatistics {
  return Object.fromEntries(
    Object.entries(statistics).map(([name, { sketch: _sketch, ...rest }]) => [name, rest]),
  );
}

function binsOver(min: number, max: number, bins: number) {
  const width = (max - min) / bins || 1;
  return { width, edges: Array.from({ length: bins + 1 }, (_, i) => min + i * width) };
}

function sketchHistogram(q: QuantileSketch, min: number, max: number, bins: number) {
  const { width, edges } = binsOver(min, max, bins);
  const counts = new Array<number>(bins).fill(0);
  for (const b of q.buckets()) {
    const v = Math.min(max, Math.max(min, b.value));
    counts[Math.min(Math.floor((v - min) / width), bins - 1)]! += b.count;
  }
  return { edges, counts };
}

async function exactHistogram(
  duck: DuckSession,
  relation: string,
  c: string,
  min: number,
  max: number,
  bins: number,
) {
  const { width, edges } = binsOver(min, max, bins);
  const rows = await duck.all<{ b: bigint | number; n: bigint }>(
    `SELECT least(floor((${c}::DOUBLE - $1) / $2), $3 - 1)::INTEGER AS b, count(*) AS n FROM ${relation}
     WHERE isfinite(${c}::DOUBLE) GROUP BY 1`,
    [min, width, bins],
  );
  const counts = new Array<number>(bins).fill(0);
  for (const r of rows) counts[Number(r.b)] = Number(r.n);
  return { edges, counts };
}
