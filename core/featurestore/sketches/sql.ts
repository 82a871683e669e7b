import type { DuckSession } from '../../duckdb';
import { quoteIdent } from '../../identifiers';
import type { FeatureType } from '../feature-group';
import type { ColumnSketchState } from './column-sketch';
import { HLL_PRECISION, HyperLogLog } from './hyperloglog';
import { QUANTILE_ALPHA, QuantileSketch } from './quantile-sketch';

/** Types summarised with moments and quantiles. */
export const NUMERIC_TYPES: ReadonlySet<FeatureType> = new Set(['int', 'bigint', 'float', 'double']);
/** Types with a meaningful min/max as text. */
export const ORDERED_TYPES: ReadonlySet<FeatureType> = new Set(['timestamp', 'date', 'string', 'bool']);

const n = (v: unknown): number => (v === null || v === undefined ? 0 : Number(v));
const finiteOrNull = (v: unknown): number | null => {
  if (v === null || v === undefined) return null;
  const x = Number(v);
  return Number.isFinite(x) ? x : null;
};

/**
 * Sketches each column of a DuckDB relation: a few aggregate queries per column whose
 * results are small (≤ 2^p registers, ≤ a few thousand quantile buckets) — no values cross into
 * JavaScript. Never fails on values: NaN/±Infinity are counted apart and kept out of min/max,
 * moments and quantiles; moments are computed on values scaled by their largest magnitude so huge
 * finite values cannot overflow DuckDB's variance (the `STDDEV_SAMP is out of range` failure).
 */
export async function sketchRelation(
  duck: DuckSession,
  relation: string,
  columns: readonly { name: string; type: FeatureType }[],
): Promise<Record<string, ColumnSketchState>> {
  const out: Record<string, ColumnSketchState> = {};
  const tag = (await duck.one<{ tag: string }>(HyperLogLog.duckHashTagSql))!.tag;
  for (const { name, type } of columns) {
    const c = quoteIdent(name);
    const hll = type === 'float_array' ? undefined : await registers(duck, relation, c, tag);
    if (NUMERIC_TYPES.has(type)) {
      // Two light passes instead of one with a self cross join (the scale): counts and bounds,
      // then the moments of the values scaled by their largest magnitude (bound as a parameter).
      const x = `${c}::DOUBLE`;
      const bounds = await duck.one<Record<string, unknown>>(
        `SELECT count(*) AS rows, count(*) - count(${c}) AS nulls,
                count(*) FILTER (WHERE isnan(${x})) AS nan,
                count(*) FILTER (WHERE ${x} = 'Infinity'::DOUBLE) AS posinf,
                count(*) FILTER (WHERE ${x} = '-Infinity'::DOUBLE) AS neginf,
                count(*) FILTER (WHERE isfinite(${x})) AS n,
                min(${x}) FILTER (WHERE isfinite(${x})) AS min, max(${x}) FILTER (WHERE isfinite(${x})) AS max,
                max(abs(${x})) FILTER (WHERE isfinite(${x})) AS scale
         FROM ${relation}`,
      );
      const scaleValue = finiteOrNull(bounds?.scale);
      const scaled =
        scaleValue === null || scaleValue === 0
          ? undefined
          : await duck.one<Record<string, unknown>>(
              `SELECT avg(${x} / $1::DOUBLE) AS mean_scaled, var_pop(${x} / $1::DOUBLE) AS var_scaled
               FROM ${relation} WHERE isfinite(${x})`,
              // As text: the driver binds a whole-valued number as BIGINT, which 1e300 overflows;
              // JavaScript's shortest form parses back to the same double.
              [String(scaleValue)],
            );
      const row = { ...bounds, ...scaled };
      const count = n(row?.n);
      const scale = n(row?.scale);
      // All-zero columns have scale 0: mean and M2 are 0.
      const mean = scale === 0 ? 0 : n(row?.mean_scaled) * scale;
      const m2 = scale === 0 ? 0 : n(row?.var_scaled) * count * scale * scale;
      const buckets = await duck.all<{ sign: number; idx: number; n: bigint }>(
        QuantileSketch.bucketsSql(relation, c, QUANTILE_ALPHA),
      );
      const quantiles = new QuantileSketch(QUANTILE_ALPHA);
      for (const b of buckets)
        quantiles.addBucket(Math.sign(Number(b.sign)) as -1 | 0 | 1, Number(b.idx), Number(b.n));
      out[name] = {
        type,
        rows: n(row?.rows),
        nulls: n(row?.nulls),
        nonFinite: { nan: n(row?.nan), posInf: n(row?.posinf), negInf: n(row?.neginf) },
        min: finiteOrNull(row?.min),
        max: finiteOrNull(row?.max),
        moments: { n: count, mean: count === 0 ? 0 : mean, m2: count < 2 ? 0 : m2 },
        ...(hll ? { hll: hll.toJSON() } : {}),
        quantiles: quantiles.toJSON(),
      };
    } else {
      const ordered = ORDERED_TYPES.has(type);
      const row = await duck.one<Record<string, unknown>>(
        `SELECT count(*) AS rows, count(*) - count(${c}) AS nulls
           ${ordered ? `, min(${c})::VARCHAR AS min, max(${c})::VARCHAR AS max` : ''} FROM ${relation}`,
      );
      out[name] = {
        type,
        rows: n(row?.rows),
        nulls: n(row?.nulls),
        min: ordered ? ((row?.min as string | null) ?? null) : null,
        max: ordered ? ((row?.max as string | null) ?? null) : null,
        ...(hll ? { hll: hll.toJSON() } : {}),
      };
    }
  }
  return out;
}

async function registers(
  duck: DuckSession,
  relation: string,
  column: string,
  tag: string,
): Promise<HyperLogLog> {
  const rows = await duck.all<{ idx: number; w: bigint }>(
    HyperLogLog.minWordsSql(relation, column, HLL_PRECISION),
  );
  const hll = new HyperLogLog(HLL_PRECISION, undefined, tag);
  for (const r of rows) hll.raise(Number(r.idx), HyperLogLog.rankOfWord(BigInt(r.w), HLL_PRECISION));
  return hll;
}
