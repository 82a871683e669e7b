import {
  binCounts,
  chiSquare,
  jensenShannon,
  ksTwoSample,
  normalizedWasserstein,
  psi,
  quantileEdges,
} from './statistics';

/** Which test decided, its score and threshold, and the PSI alongside (reported, not decisive). */
export interface DriftResult {
  readonly method: 'ks' | 'wasserstein' | 'chisquare' | 'jensenshannon';
  /** p-value for ks/chisquare (drift when below the threshold), a distance otherwise (drift when above). */
  readonly score: number;
  readonly threshold: number;
  readonly drift: boolean;
  readonly psi: number;
  readonly referenceSize: number;
  readonly currentSize: number;
}

/** Per-feature overrides of the defaults. */
export interface DriftOptions {
  readonly method?: DriftResult['method'];
  readonly threshold?: number;
}

/** Samples at or under this size are judged by a hypothesis test; larger ones by a distance. */
export const SMALL_SAMPLE = 1000;

/**
 * p-value below which a hypothesis test calls drift. Stricter than Evidently's 0.05: a monitor tests
 * every feature in every window, and at 0.05 a 20-feature view would raise about one false alarm
 * per window.
 */
export const DEFAULT_P_VALUE = 0.01;

/**
 * Numeric drift with Evidently's choice of test: up to 1,000 current values, two-sample
 * Kolmogorov–Smirnov (drift when p < {@link DEFAULT_P_VALUE}); more, normalized Wasserstein (drift
 * when the distributions are more than 0.1 reference standard deviations apart). Tests on large
 * samples flag practically irrelevant differences, which is why the choice depends on size.
 */
export function numericDrift(
  reference: ArrayLike<number>,
  current: ArrayLike<number>,
  options: DriftOptions = {},
): DriftResult {
  const method = options.method ?? (current.length <= SMALL_SAMPLE ? 'ks' : 'wasserstein');
  const edges = quantileEdges(reference);
  const base = {
    psi: psi(binCounts(reference, edges), binCounts(current, edges)),
    referenceSize: reference.length,
    currentSize: current.length,
  };
  if (method === 'ks') {
    const threshold = options.threshold ?? DEFAULT_P_VALUE;
    const { pValue } = ksTwoSample(reference, current);
    return { method, score: pValue, threshold, drift: pValue < threshold, ...base };
  }
  if (method !== 'wasserstein') throw new Error(`drift method ${method} is for categories, not numbers`);
  const threshold = options.threshold ?? 0.1;
  const distance = normalizedWasserstein(reference, current);
  return { method, score: distance, threshold, drift: distance > threshold, ...base };
}

/**
 * Categorical drift with Evidently's choice of test: up to 1,000 current values, chi-square goodness
 * of fit (drift when p < {@link DEFAULT_P_VALUE}); more, Jensen–Shannon distance (drift above 0.1). Categories the
 * reference never saw count in both.
 */
export function categoricalDrift(
  reference: readonly (string | null)[],
  current: readonly (string | null)[],
  options: DriftOptions = {},
): DriftResult {
  const categories = [...new Set([...reference, ...current].map((v) => v ?? '∅'))].sort();
  const count = (values: readonly (string | null)[]) => {
    const counts = new Map(categories.map((c) => [c, 0]));
    for (const v of values) counts.set(v ?? '∅', counts.get(v ?? '∅')! + 1);
    return categories.map((c) => counts.get(c)!);
  };
  const ref = count(reference);
  const cur = count(current);
  const method = options.method ?? (current.length <= SMALL_SAMPLE ? 'chisquare' : 'jensenshannon');
  const base = { psi: psi(ref, cur), referenceSize: reference.length, currentSize: current.length };
  if (method === 'chisquare') {
    const threshold = options.threshold ?? DEFAULT_P_VALUE;
    const { pValue } = chiSquare(ref, cur);
    return { method, score: pValue, threshold, drift: pValue < threshold, ...base };
  }
  if (method !== 'jensenshannon') throw new Error(`drift method ${method} is for numbers, not categories`);
  const threshold = options.threshold ?? 0.1;
  const distance = jensenShannon(ref, cur);
  return { method, score: distance, threshold, drift: distance > threshold, ...base };
}
