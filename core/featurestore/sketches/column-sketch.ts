import type { FeatureType } from '../feature-group';
import { HyperLogLog, type HyperLogLogState } from './hyperloglog';
import { EMPTY_MOMENTS, mergeMoments, type Moments } from './moments';
import { QuantileSketch, type QuantileSketchState } from './quantile-sketch';

/** Counts of non-finite values of a float/double column (only features that allow them hold any). */
export interface NonFiniteCounts {
  readonly nan: number;
  readonly posInf: number;
  readonly negInf: number;
}

/**
 * The mergeable summary of one column of one batch (a commit's rows). Every field merges exactly
 * (counts add, min/max compare, moments by Chan's formula, HyperLogLog registers by max, quantile
 * buckets add), so the sketch of a union of batches is the merge of their sketches.
 */
export interface ColumnSketchState {
  readonly type: FeatureType;
  /** Rows of the batch, nulls included. */
  readonly rows: number;
  readonly nulls: number;
  /** Numeric columns: non-finite values (excluded from min/max/moments/quantiles). */
  readonly nonFinite?: NonFiniteCounts;
  /** Numeric: smallest finite value; ordered types: smallest value as text. */
  readonly min: number | string | null;
  readonly max: number | string | null;
  /** Numeric: moments of the finite values. */
  readonly moments?: Moments;
  /** Distinct-count sketch (absent for embeddings). */
  readonly hll?: HyperLogLogState;
  /** Numeric: quantile sketch of the finite values. */
  readonly quantiles?: QuantileSketchState;
}

/** A column sketch of `rows` rows that are all null (a feature a batch did not have yet). */
export function nullSketch(type: FeatureType, rows: number): ColumnSketchState {
  return { type, rows, nulls: rows, min: null, max: null };
}

function pick<T extends number | string>(a: T | null, b: T | null, smaller: boolean): T | null {
  if (a === null) return b;
  if (b === null) return a;
  return (smaller ? b < a : b > a) ? b : a;
}

function addCounts(
  a: NonFiniteCounts | undefined,
  b: NonFiniteCounts | undefined,
): NonFiniteCounts | undefined {
  if (!a) return b;
  if (!b) return a;
  return { nan: a.nan + b.nan, posInf: a.posInf + b.posInf, negInf: a.negInf + b.negInf };
}

const family = (h: HyperLogLogState) => h.hash ?? 'md5';
const sameFamily = (a: HyperLogLogState, b: HyperLogLogState) => family(a) === family(b) && a.p === b.p;

/**
 * Merges two sketches of the same column over disjoint batches. Distinct-count sketches of
 * different hash families (a DuckDB upgrade changed its hash) cannot merge: the larger side's is
 * kept, so `distinct` is then a lower bound.
 */
export function mergeColumnSketches(a: ColumnSketchState, b: ColumnSketchState): ColumnSketchState {
  const hll =
    a.hll && b.hll
      ? sameFamily(a.hll, b.hll)
        ? HyperLogLog.fromJSON(a.hll).merge(HyperLogLog.fromJSON(b.hll)).toJSON()
        : (a.rows >= b.rows ? a : b).hll
      : (a.hll ?? b.hll);
  const quantiles =
    a.quantiles && b.quantiles
      ? QuantileSketch.fromJSON(a.quantiles).merge(QuantileSketch.fromJSON(b.quantiles)).toJSON()
      : (a.quantiles ?? b.quantiles);
  const moments =
    a.moments || b.moments ? mergeMoments(a.moments ?? EMPTY_MOMENTS, b.moments ?? EMPTY_MOMENTS) : undefined;
  const nonFinite = addCounts(a.nonFinite, b.nonFinite);
  return {
    type: a.type,
    rows: a.rows + b.rows,
    nulls: a.nulls + b.nulls,
    ...(nonFinite ? { nonFinite } : {}),
    min: pick(a.min, b.min, true),
    max: pick(a.max, b.max, false),
    ...(moments ? { moments } : {}),
    ...(hll ? { hll } : {}),
    ...(quantiles ? { quantiles } : {}),
  };
}

function counts(s: ColumnSketchState): ColumnSketchState {
  const { hll: _hll, quantiles: _quantiles, ...rest } = s;
  return rest;
}

/**
 * Merges many sketches, decoding each HyperLogLog and quantile sketch once (group statistics over
 * many commits). Undefined for no parts.
 */
export function mergeAllColumnSketches(parts: readonly ColumnSketchState[]): ColumnSketchState | undefined {
  if (parts.length === 0) return undefined;
  // Distinct counts merge within one hash family; across families (a DuckDB upgrade that changed its
  // hash) the family covering the most rows is kept, so `distinct` is then a lower bound.
  const families = new Map<string, { hll: HyperLogLog; rows: number }>();
  let quantiles: QuantileSketch | undefined;
  let head = counts(parts[0]!);
  for (const [i, part] of parts.entries()) {
    if (part.hll) {
      const key = `${family(part.hll)}/${part.hll.p}`;
      const seen = families.get(key);
      if (seen) {
        seen.hll.merge(HyperLogLog.fromJSON(part.hll));
        seen.rows += part.rows;
      } else families.set(key, { hll: HyperLogLog.fromJSON(part.hll), rows: part.rows });
    }
    if (part.quantiles) {
      const q = QuantileSketch.fromJSON(part.quantiles);
      quantiles = quantiles ? quantiles.merge(q) : q;
    }
    if (i > 0) head = mergeColumnSketches(head, counts(part));
  }
  const hll = [...families.values()].sort((x, y) => y.rows - x.rows)[0]?.hll;
  return {
    ...head,
    ...(hll ? { hll: hll.toJSON() } : {}),
    ...(quantiles ? { quantiles: quantiles.toJSON() } : {}),
  };
}
