/**
 * The statistics drift detection rests on, written to match scipy's definitions (the tests compare
 * with values scipy computed): two-sample Kolmogorov–Smirnov with the asymptotic p-value, the
 * Wasserstein-1 distance, Pearson's chi-square goodness of fit, the Jensen–Shannon distance and
 * the population stability index. Pure functions over numbers; no I/O.
 */

/** Ascending copy without NaN. */
function sorted(values: ArrayLike<number>): Float64Array {
  const out = Float64Array.from(values).filter((v) => !Number.isNaN(v));
  return out.sort();
}

/** Kolmogorov's limiting distribution, P(K > z) (scipy.stats.kstwobign.sf). */
export function kolmogorovSf(z: number): number {
  if (z <= 0) return 1;
  if (z < 0.27) return 1; // the series converges slowly there and the tail is 1 to double precision
  let sum = 0;
  for (let k = 1; k <= 100; k++) {
    const term = Math.exp(-2 * k * k * z * z);
    sum += (k % 2 === 1 ? 1 : -1) * term;
    if (term < 1e-17) break;
  }
  return Math.min(1, Math.max(0, 2 * sum));
}

/**
 * Two-sample Kolmogorov–Smirnov: the largest distance between the empirical CDFs and its
 * asymptotic p-value (scipy.stats.ks_2samp(a, b, method='asymp')).
 */
export function ksTwoSample(
  a: ArrayLike<number>,
  b: ArrayLike<number>,
): { statistic: number; pValue: number } {
  const x = sorted(a);
  const y = sorted(b);
  const n = x.length;
  const m = y.length;
  if (n === 0 || m === 0) return { statistic: Number.NaN, pValue: Number.NaN };
  let i = 0;
  let j = 0;
  let d = 0;
  while (i < n && j < m) {
    const v = Math.min(x[i]!, y[j]!);
    while (i < n && x[i]! <= v) i++;
    while (j < m && y[j]! <= v) j++;
    d = Math.max(d, Math.abs(i / n - j / m));
  }
  const en = (n * m) / (n + m);
  return { statistic: d, pValue: kolmogorovSf(Math.sqrt(en) * d) };
}

/** Wasserstein-1 distance between two samples (scipy.stats.wasserstein_distance). */
export function wasserstein(a: ArrayLike<number>, b: ArrayLike<number>): number {
  const x = sorted(a);
  const y = sorted(b);
  if (x.length === 0 || y.length === 0) return Number.NaN;
  // Integrate |F_x - F_y| over the merged support.
  const all = Float64Array.from([...x, ...y]).sort();
  let i = 0;
  let j = 0;
  let total = 0;
  for (let k = 0; k < all.length - 1; k++) {
    const v = all[k]!;
    while (i < x.length && x[i]! <= v) i++;
    while (j < y.length && y[j]! <= v) j++;
    total += Math.abs(i / x.length - j / y.length) * (all[k + 1]! - v);
  }
  return total;
}

/** Population standard deviation (numpy.std). */
export function std(values: ArrayLike<number>): number {
  const x = sorted(values);
  if (x.length === 0) return Number.NaN;
  let mean = 0;
  for (const v of x) mean += v;
  mean /= x.length;
  let ss = 0;
  for (const v of x) ss += (v - mean) ** 2;
  return Math.sqrt(ss / x.length);
}

/**
 * Wasserstein distance in units of the reference's standard deviation (Evidently's normalized
 * Wasserstein): 0.1 means the distributions are a tenth of a standard deviation apart.
 */
export function normalizedWasserstein(reference: ArrayLike<number>, current: ArrayLike<number>): number {
  const s = std(reference);
  const w = wasserstein(reference, current);
  return s > 0 ? w / s : w === 0 ? 0 : Number.POSITIVE_INFINITY;
}

/** ln Γ(x) (Lanczos, g = 7): 15 significant digits for x > 0. */
function logGamma(x: number): number {
  const c = [
    0.99999999999980993, 676.5203681218851, -1259.1392167224028, 771.32342877765313, -176.61502916214059,
    12.507343278686905, -0.13857109526572012, 9.9843695780195716e-6, 1.5056327351493116e-7,
  ];
  if (x < 0.5) return Math.log(Math.PI / Math.sin(Math.PI * x)) - logGamma(1 - x);
  const z = x - 1;
  let a = c[0]!;
  const t = z + 7.5;
  for (let i = 1; i < 9; i++) a += c[i]! / (z + i);
  return 0.5 * Math.log(2 * Math.PI) + (z + 0.5) * Math.log(t) - t + Math.log(a);
}

/** Regularized upper incomplete gamma Q(s, x) (series below s + 1, continued fraction above). */
export function gammaQ(s: number, x: number): number {
  if (x <= 0) return 1;
  if (x < s + 1) {
    let term = 1 / s;
    let sum = term;
    for (let n = 1; n < 1000; n++) {
      term *= x / (s + n);
      sum += term;
      if (Math.abs(term) < Math.abs(sum) * 1e-16) break;
    }
    return 1 - sum * Math.exp(-x + s * Math.log(x) - logGamma(s));
  }
  // Lentz's continued fraction.
  let b = x + 1 - s;
  let c = 1e300;
  let d = 1 / b;
  let h = d;
  for (let i = 1; i < 1000; i++) {
    const an = -i * (i - s);
    b += 2;
    d = an * d + b;
    if (Math.abs(d) < 1e-300) d = 1e-300;
    c = b + an / c;
    if (Math.abs(c) < 1e-300) c = 1e-300;
    d = 1 / d;
    const delta = d * c;
    h *= delta;
    if (Math.abs(delta - 1) < 1e-16) break;
  }
  return Math.exp(-x + s * Math.log(x) - logGamma(s)) * h;
}

/**
 * Pearson's chi-square goodness of fit of current category counts against the reference's
 * proportions (scipy.stats.chisquare(current, expected = reference share × current total)).
 * Categories the reference never saw make the statistic infinite (p = 0).
 */
export function chiSquare(
  referenceCounts: readonly number[],
  currentCounts: readonly number[],
): { statistic: number; pValue: number; dof: number } {
  const refTotal = referenceCounts.reduce((a, b) => a + b, 0);
  const curTotal = currentCounts.reduce((a, b) => a + b, 0);
  const dof = referenceCounts.length - 1;
  if (refTotal === 0 || curTotal === 0 || dof < 1) return { statistic: Number.NaN, pValue: Number.NaN, dof };
  let statistic = 0;
  referenceCounts.forEach((r, i) => {
    const expected = (r / refTotal) * curTotal;
    const observed = currentCounts[i] ?? 0;
    statistic +=
      expected > 0 ? (observed - expected) ** 2 / expected : observed > 0 ? Number.POSITIVE_INFINITY : 0;
  });
  return { statistic, pValue: Number.isFinite(statistic) ? gammaQ(dof / 2, statistic / 2) : 0, dof };
}

/** Jensen–Shannon distance (natural log) between two count or probability vectors (scipy.spatial.distance.jensenshannon). */
export function jensenShannon(p: readonly number[], q: readonly number[]): number {
  const ps = p.reduce((a, b) => a + b, 0);
  const qs = q.reduce((a, b) => a + b, 0);
  let divergence = 0;
  p.forEach((pi, i) => {
    const a = pi / ps;
    const b = (q[i] ?? 0) / qs;
    const m = (a + b) / 2;
    if (a > 0) divergence += 0.5 * a * Math.log(a / m);
    if (b > 0) divergence += 0.5 * b * Math.log(b / m);
  });
  return Math.sqrt(Math.max(0, divergence));
}

/**
 * Population stability index over bins: Σ (cur − ref) · ln(cur / ref) on shares, an empty bin's
 * share replaced by 0.0001 (Evidently's convention) so a bin new to one side counts, finitely.
 */
export function psi(referenceCounts: readonly number[], currentCounts: readonly number[]): number {
  const refTotal = referenceCounts.reduce((a, b) => a + b, 0);
  const curTotal = currentCounts.reduce((a, b) => a + b, 0);
  let total = 0;
  referenceCounts.forEach((r, i) => {
    const a = r / refTotal || 0.0001;
    const b = (currentCounts[i] ?? 0) / curTotal || 0.0001;
    total += (b - a) * Math.log(b / a);
  });
  return total;
}

/**
 * Bin edges for PSI from the reference: its deciles (or fewer when values repeat), so each bin holds
 * about a tenth of the reference. Counts of a sample over those edges: `(-∞, e0], (e0, e1], …, (ek, ∞)`.
 */
export function quantileEdges(reference: ArrayLike<number>, bins = 10): number[] {
  const x = sorted(reference);
  const edges = new Set<number>();
  for (let k = 1; k < bins; k++) edges.add(x[Math.min(x.length - 1, Math.floor((k * x.length) / bins))]!);
  return [...edges].sort((a, b) => a - b);
}

/** Counts of `values` (NaN left out) over `edges` as {@link quantileEdges} defines the bins. */
export function binCounts(values: ArrayLike<number>, edges: readonly number[]): number[] {
  const counts = new Array<number>(edges.length + 1).fill(0);
  for (let i = 0; i < values.length; i++) {
    const v = values[i]!;
    if (Number.isNaN(v)) continue;
    let lo = 0;
    let hi = edges.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (edges[mid]! < v) lo = mid + 1;
      else hi = mid;
    }
    counts[lo]! += 1;
  }
  return counts;
}
