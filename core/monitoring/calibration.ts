/**
 * Probability calibration for binary classifiers: isotonic regression fitted by
 * pool-adjacent-violators (the calibrator NannyML's CBPE uses, sklearn's `IsotonicRegression` with
 * `out_of_bounds='clip'`), and the expected calibration error that tells whether a model needs it.
 * Pure functions over numbers; no I/O.
 */

/**
 * A value that is not what the argument allows (a probability outside [0, 1] or NaN, a label other
 * than 0 or 1). Bad input: retrying with the same data fails again.
 */
export class InvalidInputError extends RangeError {
  constructor(
    /** The argument's name, e.g. `probabilities`. */
    readonly argument: string,
    /** Position of the first offending value. */
    readonly index: number,
    /** The offending value. */
    readonly value: number,
    expected: string,
  ) {
    super(`${argument}[${index}] is ${value}, expected ${expected}`);
    this.name = 'InvalidInputError';
  }
}

/** Throws {@link InvalidInputError} at the first value that is NaN or outside [0, 1]. */
export function assertProbabilities(values: ArrayLike<number>, argument = 'probabilities'): void {
  for (let i = 0; i < values.length; i++) {
    const v = values[i]!;
    // `!(v >= 0 && v <= 1)` is true for NaN as well.
    if (!(v >= 0 && v <= 1)) throw new InvalidInputError(argument, i, v, 'a probability in [0, 1]');
  }
}

/** Throws {@link InvalidInputError} at the first label that is not 0 or 1. */
export function assertBinaryLabels(values: ArrayLike<number>, argument = 'labels'): void {
  for (let i = 0; i < values.length; i++) {
    const v = values[i]!;
    if (v !== 0 && v !== 1) throw new InvalidInputError(argument, i, v, '0 or 1');
  }
}

/**
 * A fitted monotone map from a model's probability to the observed positive rate. Plain JSON.
 * `thresholds` ascend strictly and `values` never decrease; between two thresholds the map is linear,
 * below the first and above the last it is clipped to the end values (sklearn's representation:
 * each pooled block keeps its first and last input, so the map is flat across a block and linear
 * between blocks).
 */
export interface IsotonicCalibrator {
  readonly kind: 'isotonic';
  readonly thresholds: readonly number[];
  readonly values: readonly number[];
}

/**
 * Fits isotonic regression of `labels` on `probabilities` (least squares under a non-decreasing
 * constraint, by pool-adjacent-violators; equal inputs are pooled first, so ties get one value).
 * Guarantees: the result is non-decreasing, each pooled block's value is the mean label of its rows,
 * so the fitted values sum to the number of positives. Throws {@link InvalidInputError} on bad
 * values, a `RangeError` on no rows or unequal lengths.
 */
export function fitCalibrator(
  probabilities: ArrayLike<number>,
  labels: ArrayLike<number>,
): IsotonicCalibrator {
  const n = probabilities.length;
  if (labels.length !== n)
    throw new RangeError(`probabilities has ${n} rows but labels has ${labels.length}`);
  if (n === 0) throw new RangeError('fitCalibrator needs at least one row');
  assertProbabilities(probabilities);
  assertBinaryLabels(labels);
  const order = Uint32Array.from({ length: n }, (_, i) => i).sort(
    (a, b) => probabilities[a]! - probabilities[b]!,
  );
  // Blocks on a stack: first and last input, total weight, label sum.
  const lo: number[] = [];
  const hi: number[] = [];
  const weight: number[] = [];
  const sum: number[] = [];
  for (let i = 0; i < n;) {
    const x = probabilities[order[i]!]!;
    let w = 0;
    let s = 0;
    for (; i < n && probabilities[order[i]!]! === x; i++) {
      w++;
      s += labels[order[i]!]!;
    }
    lo.push(x);
    hi.push(x);
    weight.push(w);
    sum.push(s);
    // Pool while the previous block's mean is not below this one's (pooling equal means too keeps
    // the block values strictly increasing, so no two blocks share a value).
    let top = lo.length - 1;
    while (top > 0 && sum[top - 1]! * weight[top]! >= sum[top]! * weight[top - 1]!) {
      weight[top - 1]! += weight[top]!;
      sum[top - 1]! += sum[top]!;
      hi[top - 1] = hi[top]!;
      lo.pop();
      hi.pop();
      weight.pop();
      sum.pop();
      top--;
    }
  }
  const thresholds: number[] = [];
  const values: number[] = [];
  for (let b = 0; b < lo.length; b++) {
    const value = sum[b]! / weight[b]!;
    thresholds.push(lo[b]!);
    values.push(value);
    if (hi[b]! !== lo[b]!) {
      thresholds.push(hi[b]!);
      values.push(value);
    }
  }
  return { kind: 'isotonic', thresholds, values };
}

/**
 * Throws a `RangeError` unless `calibrator` has the shape {@link fitCalibrator} guarantees (for one
 * read back from storage): equal, non-zero lengths, strictly ascending thresholds in [0, 1],
 * non-decreasing values in [0, 1].
 */
export function assertCalibrator(calibrator: IsotonicCalibrator): void {
  const { thresholds: t, values: v } = calibrator;
  const ok =
    calibrator.kind === 'isotonic' &&
    t.length > 0 &&
    t.length === v.length &&
    t.every((x, i) => x >= 0 && x <= 1 && (i === 0 || x > t[i - 1]!)) &&
    v.every((y, i) => y >= 0 && y <= 1 && (i === 0 || y >= v[i - 1]!));
  if (!ok) throw new RangeError('calibrator is not an isotonic calibrator (see IsotonicCalibrator)');
}

/** The map on segment `j` (thresholds[j] ≤ p ≤ thresholds[j + 1]), clipped at the ends. */
function interpolate(t: readonly number[], v: readonly number[], j: number, p: number): number {
  if (j < 0) return v[0]!;
  if (j >= t.length - 1) return v[t.length - 1]!;
  const x0 = t[j]!;
  const y0 = v[j]!;
  return y0 + ((p - x0) * (v[j + 1]! - y0)) / (t[j + 1]! - x0);
}

/**
 * The calibrated probability of `p`: linear between the calibrator's thresholds, clipped outside.
 * Guarantees a value in [0, 1], non-decreasing in `p`. Throws {@link InvalidInputError} when `p` is
 * not a probability.
 */
export function applyCalibrator(calibrator: IsotonicCalibrator, p: number): number {
  if (!(p >= 0 && p <= 1)) throw new InvalidInputError('p', 0, p, 'a probability in [0, 1]');
  const t = calibrator.thresholds;
  // Last index with t[j] <= p, or -1.
  let lo = -1;
  let hi = t.length - 1;
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    if (t[mid]! <= p) lo = mid;
    else hi = mid - 1;
  }
  return interpolate(t, calibrator.values, lo, p);
}

/**
 * Calibrates an ascending array in place in one pass (O(n + thresholds)). The caller guarantees
 * `sorted` ascends and holds probabilities.
 */
export function calibrateSortedInPlace(calibrator: IsotonicCalibrator, sorted: Float64Array): void {
  const { thresholds: t, values: v } = calibrator;
  let j = -1;
  for (let i = 0; i < sorted.length; i++) {
    const p = sorted[i]!;
    while (j + 1 < t.length && t[j + 1]! <= p) j++;
    sorted[i] = interpolate(t, v, j, p);
  }
}

/**
 * Expected calibration error (Guo et al., 2017) over `bins` equal-width bins of [0, 1]: the
 * row-weighted mean over bins of |mean label − mean probability|, i.e. Σ_bins |Σ y − Σ p| / n.
 * 0 for a perfectly calibrated sample; NaN with no rows. A perfectly calibrated model still scores
 * above 0 on a finite sample, by at most about {@link eceNoiseFloor}. Throws
 * {@link InvalidInputError} on bad values, a `RangeError` on unequal lengths or bins < 1.
 */
export function expectedCalibrationError(
  probabilities: ArrayLike<number>,
  labels: ArrayLike<number>,
  bins = 10,
): number {
  const n = probabilities.length;
  if (labels.length !== n)
    throw new RangeError(`probabilities has ${n} rows but labels has ${labels.length}`);
  if (!Number.isInteger(bins) || bins < 1) throw new RangeError(`bins must be an integer ≥ 1, got ${bins}`);
  assertProbabilities(probabilities);
  assertBinaryLabels(labels);
  if (n === 0) return Number.NaN;
  const gap = new Float64Array(bins);
  for (let i = 0; i < n; i++) {
    const p = probabilities[i]!;
    gap[Math.min(Math.floor(p * bins), bins - 1)]! += labels[i]! - p;
  }
  let total = 0;
  for (const g of gap) total += Math.abs(g);
  return total / n;
}

/**
 * An upper bound on the ECE a perfectly calibrated model is expected to show on `n` rows from
 * sampling alone: each bin's gap is a mean of n_b zero-mean terms of variance ≤ 1/4, so
 * E|gap_b| ≤ √(2/π)·½/√n_b, and Σ_b (n_b/n)·E|gap_b| ≤ ½√(2/π)·√(bins/n) (Cauchy–Schwarz).
 */
export function eceNoiseFloor(n: number, bins = 10): number {
  return n > 0 ? 0.5 * Math.sqrt(2 / Math.PI) * Math.sqrt(bins / n) : Number.NaN;
}
