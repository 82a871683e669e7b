// Feature binning for GBDT training: per-feature float32 split points from (a sample of) the
// training rows, and each value's bin (0 = missing, else 1 + the number of points below it).

import type { Dataset } from '../task';

/** Per-feature ascending float32 split points; bin = 1 + number of points below the value, 0 = missing. */
export function binEdges(X: Float64Array, rows: number, cols: number, maxBins: number): Float32Array[] {
  const edges: Float32Array[] = [];
  const sampleEvery = Math.max(1, Math.floor(rows / 200_000));
  for (let f = 0; f < cols; f++) {
    const values: number[] = [];
    for (let i = 0; i < rows; i += sampleEvery) {
      const v = X[i * cols + f]!;
      if (!Number.isNaN(v)) values.push(Math.fround(v));
    }
    const sorted = Float64Array.from(values).sort();
    const unique: number[] = [];
    for (const v of sorted) if (unique.length === 0 || unique[unique.length - 1] !== v) unique.push(v);
    const budget = maxBins - 2;
    let points: number[];
    if (unique.length <= budget + 1) points = unique.slice(0, -1);
    else {
      const set = new Set<number>();
      for (let b = 1; b <= budget; b++)
        set.add(sorted[Math.min(sorted.length - 1, Math.floor((b * sorted.length) / (budget + 1)))]!);
      points = [...set].sort((a, b) => a - b);
    }
    edges.push(Float32Array.from(points));
  }
  return edges;
}

/** The bin of `value` between `edges` (0 = missing). */
export function binOf(edges: Float32Array, value: number): number {
  if (Number.isNaN(value)) return 0;
  const v = Math.fround(value);
  let lo = 0;
  let hi = edges.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (edges[mid]! < v) lo = mid + 1;
    else hi = mid;
  }
  return lo + 1;
}

/**
 * Writes the bins of rows `[from, to)` of `data` into `out` (row-major, `out[r * cols + f]`) and, when
 * given, `columns` (column-major, `columns[f * rows + r]`).
 */
export function binRows(
  data: Dataset,
  edges: readonly Float32Array[],
  out: Uint8Array,
  columns?: Uint8Array,
  from = 0,
  to = data.rows,
): void {
  const { rows, cols, X } = data;
  for (let r = from; r < to; r++)
    for (let f = 0; f < cols; f++) {
      const b = binOf(edges[f]!, X[r * cols + f]!);
      out[r * cols + f] = b;
      if (columns) columns[f * rows + r] = b;
    }
}
