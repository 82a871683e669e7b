/**
 * Drift statistics from a reference profile and a window counted in the reference's bins (see
 * `profile.ts`): the same tests as `drift.ts` runs on raw samples, computed from counts. With
 * {@link PROFILE_BINS} equal-frequency reference bins, the KS statistic is exact at every bin edge
 * (so within 0.1 % of the reference mass of the sample statistic) and the Wasserstein distance is
 * exact outside the reference range and interpolated linearly inside each bin.
 */
import { DEFAULT_P_VALUE, SMALL_SAMPLE, type DriftOptions, type DriftResult } from './drift';
import type { CategoricalProfile, CategoricalWindow, NumericProfile, NumericWindow } from './profile';
import { chiSquare, jensenShannon, kolmogorovSf, psi } from './statistics';

const sum = (xs: readonly number[]) => xs.reduce((a, b) => a + b, 0);

/** Two-sample KS over shared bins: the largest CDF gap at a bin edge and its asymptotic p-value. */
export function ksFromBins(
  referenceCounts: readonly number[],
  currentCounts: readonly number[],
): { statistic: number; pValue: number } {
  const n = sum(referenceCounts);
  const m = sum(currentCounts);
  if (n === 0 || m === 0) return { statistic: Number.NaN, pValue: Number.NaN };
  let r = 0;
  let c = 0;
  let d = 0;
  const bins = Math.max(referenceCounts.length, currentCounts.length);
  for (let i = 0; i < bins; i++) {
    r += referenceCounts[i] ?? 0;
    c += currentCounts[i] ?? 0;
    d = Math.max(d, Math.abs(r / n - c / m));
  }
  return { statistic: d, pValue: kolmogorovSf(Math.sqrt((n * m) / (n + m)) * d) };
}

/** ∫ |a(x) − b(x)| over a segment of width w where a − b goes linearly from d1 to d2. */
function absLinearIntegral(d1: number, d2: number, w: number): number {
  if (d1 * d2 >= 0) return (w * (Math.abs(d1) + Math.abs(d2))) / 2;
  return (w * (d1 * d1 + d2 * d2)) / (2 * (Math.abs(d1) + Math.abs(d2)));
}

/**
 * Wasserstein-1 distance between the reference and the window: ∫ |F_ref − F_cur| dx with both CDFs
 * known at the reference's bin edges and linear between them, plus the exact contribution of window
 * values below the reference's min and above its max.
 */
export function wassersteinFromBins(reference: NumericProfile, window: NumericWindow): number {
  const n = reference.count;
  const m = window.count;
  if (n === 0 || m === 0 || reference.min === null || reference.max === null) return Number.NaN;
  let total = (window.below * reference.min - window.belowSum) / m;
  total += (window.aboveSum - window.above * reference.max) / m;
  let x = reference.min;
  let d = 0 - window.below / m;
  let r = 0;
  let c = 0;
  reference.edges.forEach((edge, i) => {
    r += reference.counts[i] ?? 0;
    c += window.counts[i] ?? 0;
    const next = r / n - c / m;
    total += absLinearIntegral(d, next, edge - x);
    x = edge;
    d = next;
  });
  return total;
}

/** PSI on reference deciles, formed by merging the fine reference bins (the overflow bin joins the last). */
export function psiFromBins(referenceCounts: readonly number[], currentCounts: readonly number[]): number {
  const n = sum(referenceCounts);
  const ref = new Array<number>(10).fill(0);
  const cur = new Array<number>(10).fill(0);
  let before = 0;
  let group = 0;
  for (let i = 0; i < currentCounts.length; i++) {
    if (i < referenceCounts.length) group = Math.min(9, Math.floor((before / n) * 10));
    ref[group]! += referenceCounts[i] ?? 0;
    cur[group]! += currentCounts[i] ?? 0;
    before += referenceCounts[i] ?? 0;
  }
  const used = ref.map((r, i) => ({ r, c: cur[i]! })).filter((b) => b.r > 0 || b.c > 0);
  return psi(
    used.map((b) => b.r),
    used.map((b) => b.c),
  );
}

/** Every numeric statistic a monitor reports, besides the decisive one. */
export interface NumericStatistics {
  readonly ks: { statistic: number; pValue: number };
  readonly wasserstein: number;
  readonly normalizedWasserstein: number;
  readonly psi: number;
}

/** All numeric statistics of a window against its reference. */
export function numericStatistics(reference: NumericProfile, window: NumericWindow): NumericStatistics {
  const ks = ksFromBins(reference.counts, window.counts);
  const w = wassersteinFromBins(reference, window);
  const s = reference.std ?? 0;
  return {
    ks,
    wasserstein: w,
    normalizedWasserstein: s > 0 ? w / s : w === 0 ? 0 : Number.POSITIVE_INFINITY,
    psi: psiFromBins(reference.counts, window.counts),
  };
}

/**
 * Numeric drift with the same test choice and thresholds as `numericDrift` (KS p-value up to
 * {@link SMALL_SAMPLE} window values, normalized Wasserstein above), from counts.
 */
export function numericDriftFromBins(
  reference: NumericProfile,
  window: NumericWindow,
  options: DriftOptions = {},
): DriftResult & { statistics: NumericStatistics } {
  const statistics = numericStatistics(reference, window);
  const method = options.method ?? (window.count <= SMALL_SAMPLE ? 'ks' : 'wasserstein');
  const base = { psi: statistics.psi, referenceSize: reference.count, currentSize: window.count, statistics };
  if (method === 'ks') {
    const threshold = options.threshold ?? DEFAULT_P_VALUE;
    const score = statistics.ks.pValue;
    return { method, score, threshold, drift: score < threshold, ...base };
  }
  if (method !== 'wasserstein') throw new Error(`drift method ${method} is for categories, not numbers`);
  const threshold = options.threshold ?? 0.1;
  const score = statistics.normalizedWasserstein;
  return { method, score, threshold, drift: score > threshold, ...base };
}

/** Category counts of a reference and a window aligned on shared categories, and what the window added. */
export function alignCategories(
  reference: CategoricalProfile,
  window: CategoricalWindow,
): {
  categories: string[];
  reference: number[];
  current: number[];
  unseen: number;
  unseenExamples: string[];
} {
  const known = new Set(Object.keys(reference.frequencies));
  // A truncated reference cannot tell a rare category from a new one: both go to "other".
  const truncated = reference.other > 0;
  const unseen = Object.entries(window.frequencies)
    .filter(([c]) => !known.has(c))
    .sort((a, b) => b[1] - a[1]);
  const categories = [...known].sort();
  const ref = categories.map((c) => reference.frequencies[c]!);
  const cur = categories.map((c) => window.frequencies[c] ?? 0);
  let otherCur = window.other;
  if (truncated) otherCur += unseen.reduce((a, [, n]) => a + n, 0);
  else
    for (const [c, n] of unseen) {
      categories.push(c);
      ref.push(0);
      cur.push(n);
    }
  if (truncated || otherCur > 0) {
    categories.push('\u0000other');
    ref.push(reference.other);
    cur.push(otherCur);
  }
  return {
    categories,
    reference: ref,
    current: cur,
    unseen: truncated ? 0 : unseen.reduce((a, [, n]) => a + n, 0),
    unseenExamples: truncated ? [] : unseen.slice(0, 5).map(([c]) => c),
  };
}

/** Every categorical statistic a monitor reports. */
export interface CategoricalStatistics {
  readonly chiSquare: { statistic: number; pValue: number };
  readonly jensenShannon: number;
  readonly psi: number;
}

/**
 * Categorical drift with the same test choice and thresholds as `categoricalDrift` (chi-square
 * p-value up to {@link SMALL_SAMPLE} window values, Jensen–Shannon distance above), from counts.
 */
export function categoricalDriftFromCounts(
  reference: CategoricalProfile,
  window: CategoricalWindow,
  options: DriftOptions = {},
): DriftResult & { statistics: CategoricalStatistics } {
  const aligned = alignCategories(reference, window);
  const chi = chiSquare(aligned.reference, aligned.current);
  const statistics = {
    chiSquare: { statistic: chi.statistic, pValue: chi.pValue },
    jensenShannon: jensenShannon(aligned.reference, aligned.current),
    psi: psi(aligned.reference, aligned.current),
  };
  const method = options.method ?? (window.count <= SMALL_SAMPLE ? 'chisquare' : 'jensenshannon');
  const base = { psi: statistics.psi, referenceSize: reference.count, currentSize: window.count, statistics };
  if (method === 'chisquare') {
    const threshold = options.threshold ?? DEFAULT_P_VALUE;
    return { method, score: chi.pValue, threshold, drift: chi.pValue < threshold, ...base };
  }
  if (method !== 'jensenshannon') throw new Error(`drift method ${method} is for numbers, not categories`);
  const threshold = options.threshold ?? 0.1;
  const score = statistics.jensenShannon;
  return { method, score, threshold, drift: score > threshold, ...base };
}
