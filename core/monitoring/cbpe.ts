/**
 * Confidence-based performance estimation (CBPE) for binary classifiers, as NannyML does it
 * (https://nannyml.readthedocs.io/en/stable/how_it_works/performance_estimation.html): when labels
 * arrive late or never, a calibrated probability p_i is the chance that row i is positive, so the
 * expected confusion matrix of a window, and metrics built from it, follow from the scores alone.
 * The estimate is right as long as the relationship between score and outcome stays the one seen on
 * the reference set (covariate shift is fine; concept drift is not). Pure functions; no I/O.
 */
import { rocAuc } from '../ml/metrics';
import { permutation, seededRandom } from '../ml/random';
import {
  assertBinaryLabels,
  assertCalibrator,
  assertProbabilities,
  calibrateSortedInPlace,
  eceNoiseFloor,
  expectedCalibrationError,
  fitCalibrator,
} from './calibration';
import type { IsotonicCalibrator } from './calibration';

/** The metrics CBPE estimates, named as `core/ml/metrics` names them. */
export type CbpeMetric = 'roc_auc' | 'precision' | 'recall' | 'f1' | 'accuracy';

/** Every {@link CbpeMetric}, in report order. */
export const CBPE_METRICS: readonly CbpeMetric[] = ['roc_auc', 'precision', 'recall', 'f1', 'accuracy'];

/**
 * ECE a model may show on top of sampling noise before the reference calibrates it. NannyML
 * calibrates when calibration lowers ECE; a fixed margin is simpler to reason about and leaves a
 * calibrated model's probabilities untouched.
 */
export const DEFAULT_ECE_TOLERANCE = 0.01;

/** Bins of the calibration check. */
export const CALIBRATION_BINS = 10;

/** Confidence bands are the estimate ± this many standard errors (NannyML's default). */
export const BAND_SIGMAS = 3;

/** Seed of the shuffle that splits the reference into chunks, so a reference fit is reproducible. */
const CHUNK_SEED = 0x5eed;

/** Fewest rows a reference chunk may have (smaller chunks rarely hold both classes). */
const MIN_CHUNK = 50;

/** What {@link fitCbpeReference} learns from: the model's test split, where labels are known. */
export interface CbpeReferenceOptions {
  /** The model's probability of the positive class, per row, in [0, 1]. */
  readonly probabilities: ArrayLike<number>;
  /** The true label per row, 0 or 1. */
  readonly labels: ArrayLike<number>;
  /** Serving threshold: a row is predicted positive when its probability is ≥ this. */
  readonly threshold: number;
  /**
   * `auto` fits a calibrator when the reference ECE exceeds `eceTolerance`; `always` and `never`
   * decide regardless.
   * @default 'auto'
   */
  readonly calibration?: 'auto' | 'always' | 'never';
  /**
   * Largest ECE left uncalibrated under `auto`.
   * @default DEFAULT_ECE_TOLERANCE + eceNoiseFloor(rows, CALIBRATION_BINS)
   */
  readonly eceTolerance?: number;
  /**
   * Rows per reference chunk for the standard errors.
   * @default max(50, floor(rows / 20))
   */
  readonly chunkSize?: number;
}

/** A metric per {@link CbpeMetric}; `null` where undefined (kept `null`, not NaN, so it survives JSON). */
export type CbpeMetricValues = { readonly [M in CbpeMetric]: number | null };

/**
 * What estimation needs from the reference set. Plain JSON: `JSON.parse(JSON.stringify(r))`
 * estimates exactly as `r` does.
 */
export interface CbpeReference {
  readonly version: 1;
  /** Serving threshold on the raw probability. */
  readonly threshold: number;
  /** Reference rows. */
  readonly rows: number;
  /** Raw probability → calibrated probability; `null` when the model was calibrated enough. */
  readonly calibrator: IsotonicCalibrator | null;
  /** The calibration check that decided: raw ECE against the tolerance, over `bins` bins. */
  readonly calibrationCheck: { readonly ece: number; readonly tolerance: number; readonly bins: number };
  /** Metrics realized on the reference, from the raw probabilities and the labels. */
  readonly realized: CbpeMetricValues;
  /**
   * Per metric, the standard deviation of the realized metric over `chunks` disjoint random reference
   * chunks of `chunkSize` rows (corrected for sampling without replacement); `null` with fewer than
   * two chunks where the metric is defined. A window of n rows has standard error
   * `std · √(chunkSize / n)`.
   */
  readonly sampling: { readonly chunkSize: number; readonly chunks: number; readonly std: CbpeMetricValues };
}

/** One estimated metric with its sampling uncertainty. */
export interface MetricEstimate {
  /** The estimate; NaN where the metric is undefined (no rows, no predicted positives, one class). */
  readonly value: number;
  /**
   * Standard deviation of the realized metric on a window of this size around its expectation;
   * NaN when the reference could not tell.
   */
  readonly standardError: number;
  /** `value ∓ BAND_SIGMAS · standardError`, clipped to [0, 1]; NaN when either is NaN. */
  readonly lower: number;
  readonly upper: number;
}

/** Expected confusion counts of a window (real numbers: sums of probabilities). */
export interface ExpectedConfusion {
  readonly tp: number;
  readonly fp: number;
  readonly fn: number;
  readonly tn: number;
}

/** {@link estimatePerformance}'s answer for one window. */
export interface PerformanceEstimate {
  readonly rows: number;
  readonly threshold: number;
  /** Whether the reference's calibrator was applied. */
  readonly calibrated: boolean;
  readonly metrics: { readonly [M in CbpeMetric]: MetricEstimate };
  readonly expectedConfusion: ExpectedConfusion;
}

interface NormalizedReferenceOptions {
  readonly probabilities: ArrayLike<number>;
  readonly labels: ArrayLike<number>;
  readonly threshold: number;
  readonly calibration: 'auto' | 'always' | 'never';
  readonly eceTolerance: number;
  readonly chunkSize: number;
}

function normalizeReferenceOptions(options: CbpeReferenceOptions): NormalizedReferenceOptions {
  const { probabilities, labels, threshold } = options;
  const n = probabilities.length;
  if (labels.length !== n)
    throw new RangeError(`probabilities has ${n} rows but labels has ${labels.length}`);
  if (!(threshold >= 0 && threshold <= 1))
    throw new RangeError(`threshold must be in [0, 1], got ${threshold}`);
  assertProbabilities(probabilities);
  assertBinaryLabels(labels);
  let positives = 0;
  for (let i = 0; i < n; i++) positives += labels[i]!;
  if (positives === 0 || positives === n)
    throw new RangeError('the reference labels must hold both classes (0 and 1)');
  const calibration = options.calibration ?? 'auto';
  if (!['auto', 'always', 'never'].includes(calibration))
    throw new RangeError(`calibration must be auto, always or never, got ${calibration}`);
  const eceTolerance = options.eceTolerance ?? DEFAULT_ECE_TOLERANCE + eceNoiseFloor(n, CALIBRATION_BINS);
  if (!(eceTolerance >= 0)) throw new RangeError(`eceTolerance must be ≥ 0, got ${eceTolerance}`);
  const chunkSize = options.chunkSize ?? Math.max(MIN_CHUNK, Math.floor(n / 20));
  if (!Number.isInteger(chunkSize) || chunkSize < 1)
    throw new RangeError(`chunkSize must be a positive integer, got ${chunkSize}`);
  return { probabilities, labels, threshold, calibration, eceTolerance, chunkSize };
}

const nullIfNaN = (v: number): number | null => (Number.isNaN(v) ? null : v);
const nanIfNull = (v: number | null): number => (v === null ? Number.NaN : v);

/**
 * Metrics realized from labels: ROC AUC of the raw probabilities (ties share ranks), and precision,
 * recall, F1 and accuracy with `probability ≥ threshold` predicted positive. NaN where a metric is
 * undefined (ROC AUC with one class; precision with no predicted positives; recall with no positives;
 * F1 with neither; everything with no rows). Inputs are trusted (the callers validate).
 */
export function realizedPerformance(
  labels: ArrayLike<number>,
  probabilities: ArrayLike<number>,
  threshold: number,
): Record<CbpeMetric, number> {
  let tp = 0;
  let fp = 0;
  let fn = 0;
  const n = labels.length;
  for (let i = 0; i < n; i++) {
    const positive = probabilities[i]! >= threshold;
    if (labels[i] === 1) {
      if (positive) tp++;
      else fn++;
    } else if (positive) fp++;
  }
  return ratios(n, tp, fp, fn, n === 0 ? Number.NaN : rocAuc(labels, probabilities));
}

/** Metrics from (expected or counted) confusion cells; NaN where the denominator is 0. */
function ratios(n: number, tp: number, fp: number, fn: number, auc: number): Record<CbpeMetric, number> {
  const div = (a: number, b: number) => (b > 0 ? a / b : Number.NaN);
  return {
    roc_auc: auc,
    precision: div(tp, tp + fp),
    recall: div(tp, tp + fn),
    f1: div(2 * tp, 2 * tp + fp + fn),
    accuracy: div(n - fp - fn, n),
  };
}

/** Sample standard deviation (n − 1) of the non-NaN values; NaN with fewer than two. */
function sampleStd(values: readonly number[]): number {
  const xs = values.filter((v) => !Number.isNaN(v));
  if (xs.length < 2) return Number.NaN;
  const mean = xs.reduce((a, b) => a + b, 0) / xs.length;
  return Math.sqrt(xs.reduce((a, x) => a + (x - mean) ** 2, 0) / (xs.length - 1));
}

/**
 * Learns what CBPE needs from the reference set (the model's test split, labels known):
 * 1. the calibration check: ECE of the raw probabilities over {@link CALIBRATION_BINS} bins; under
 *    `auto`, an isotonic calibrator is fitted on the whole reference when ECE exceeds the tolerance
 *    (NannyML calibrates on the reference too);
 * 2. the realized metrics (raw probabilities, the serving threshold);
 * 3. the sampling error: the reference is shuffled (fixed seed) and cut into disjoint chunks of
 *    `chunkSize` rows; the std of each metric over the chunks, times √((N − 1)/(N − chunkSize)) to undo
 *    the finite-population shrinkage, is the chunk-size standard error. Metric noise falls as 1/√n,
 *    so a window of n rows gets `std · √(chunkSize / n)`.
 * Deterministic: the same input gives the same reference. Throws {@link InvalidInputError} on a bad
 * probability or label, a `RangeError` on bad options or a reference without both classes.
 */
export function fitCbpeReference(options: CbpeReferenceOptions): CbpeReference {
  const o = normalizeReferenceOptions(options);
  const n = o.probabilities.length;
  const ece = expectedCalibrationError(o.probabilities, o.labels, CALIBRATION_BINS);
  const calibrate = o.calibration === 'always' || (o.calibration === 'auto' && ece > o.eceTolerance);
  const calibrator = calibrate ? fitCalibrator(o.probabilities, o.labels) : null;
  const realized = realizedPerformance(o.labels, o.probabilities, o.threshold);

  const chunks = Math.floor(n / o.chunkSize);
  const order = permutation(n, seededRandom(CHUNK_SEED));
  const perChunk: Record<CbpeMetric, number[]> = {
    roc_auc: [],
    precision: [],
    recall: [],
    f1: [],
    accuracy: [],
  };
  const y = new Float64Array(o.chunkSize);
  const p = new Float64Array(o.chunkSize);
  for (let c = 0; c < chunks; c++) {
    for (let k = 0; k < o.chunkSize; k++) {
      const i = order[c * o.chunkSize + k]!;
      y[k] = o.labels[i]!;
      p[k] = o.probabilities[i]!;
    }
    const m = realizedPerformance(y, p, o.threshold);
    for (const metric of CBPE_METRICS) perChunk[metric].push(m[metric]);
  }
  // Chunks drawn without replacement from N rows vary less than independent samples would.
  const fpc = o.chunkSize < n ? Math.sqrt((n - 1) / (n - o.chunkSize)) : Number.NaN;
  const std = {} as Record<CbpeMetric, number | null>;
  const realizedValues = {} as Record<CbpeMetric, number | null>;
  for (const metric of CBPE_METRICS) {
    std[metric] = nullIfNaN(sampleStd(perChunk[metric]) * fpc);
    realizedValues[metric] = nullIfNaN(realized[metric]);
  }
  return {
    version: 1,
    threshold: o.threshold,
    rows: n,
    calibrator,
    calibrationCheck: { ece, tolerance: o.eceTolerance, bins: CALIBRATION_BINS },
    realized: realizedValues,
    sampling: { chunkSize: o.chunkSize, chunks, std },
  };
}

/**
 * Estimates a window's performance without labels (NannyML's CBPE). With c_i the calibrated
 * probability of row i and s_i its raw probability, the decision uses the raw score (as serving
 * does) and the expectation the calibrated one:
 * - expected TP = Σ_{s_i ≥ t} c_i, FP = Σ_{s_i ≥ t} (1 − c_i), FN = Σ_{s_i < t} c_i,
 *   TN = Σ_{s_i < t} (1 − c_i); precision, recall, F1 and accuracy are the usual ratios of these;
 * - ROC AUC: at every distinct raw score, expected TPR = Σ_{s_j ≥ s} c_j / Σ c and
 *   FPR = Σ_{s_j ≥ s} (1 − c_j) / Σ (1 − c); the trapezoidal area under those points. Tied scores
 *   form one step, as `rocAuc` counts ties as half; since the calibrator is monotone this equals
 *   NannyML's thresholds on the calibrated probability.
 * Each estimate carries the standard error of the realized metric on a window of this size
 * ({@link CbpeReference.sampling}) and a ±{@link BAND_SIGMAS}σ band. Empty window: rows 0, every
 * value NaN, no throw. Sorts once: O(n log n). Throws {@link InvalidInputError} naming the first
 * index whose value is NaN or outside [0, 1], a `RangeError` on a malformed reference.
 */
export function estimatePerformance(
  reference: CbpeReference,
  probabilities: ArrayLike<number>,
): PerformanceEstimate {
  if (reference.calibrator) assertCalibrator(reference.calibrator);
  assertProbabilities(probabilities);
  const n = probabilities.length;
  const t = reference.threshold;
  const raw = Float64Array.from(probabilities).sort();
  const cal = raw.slice();
  if (reference.calibrator) calibrateSortedInPlace(reference.calibrator, cal);

  // First row predicted positive (raw ascends).
  let lo = 0;
  let hi = n;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (raw[mid]! >= t) hi = mid;
    else lo = mid + 1;
  }
  let fn = 0;
  for (let i = 0; i < lo; i++) fn += cal[i]!;
  let tp = 0;
  for (let i = lo; i < n; i++) tp += cal[i]!;
  // Clamped: a float sum of values ≤ 1 can overshoot the count by an ulp.
  const fp = Math.max(0, n - lo - tp);
  const tn = Math.max(0, lo - fn);

  // ROC: walk scores from high to low, one point per distinct raw score.
  const positives = tp + fn;
  const negatives = n - positives;
  let area = 0;
  let cumTp = 0;
  for (let i = n - 1; i >= 0;) {
    const s = raw[i]!;
    let groupTp = 0;
    let groupSize = 0;
    for (; i >= 0 && raw[i] === s; i--) {
      groupTp += cal[i]!;
      groupSize++;
    }
    const groupFp = groupSize - groupTp;
    area += groupFp * (cumTp + groupTp / 2);
    cumTp += groupTp;
  }
  const auc = positives > 0 && negatives > 0 ? area / (positives * negatives) : Number.NaN;

  const values = ratios(n, tp, fp, fn, auc);
  const { chunkSize, std } = reference.sampling;
  const metrics = {} as Record<CbpeMetric, MetricEstimate>;
  for (const metric of CBPE_METRICS) {
    const value = values[metric];
    const standardError = n > 0 ? nanIfNull(std[metric]) * Math.sqrt(chunkSize / n) : Number.NaN;
    metrics[metric] = {
      value,
      standardError,
      lower: Math.max(0, value - BAND_SIGMAS * standardError),
      upper: Math.min(1, value + BAND_SIGMAS * standardError),
    };
  }
  return {
    rows: n,
    threshold: t,
    calibrated: reference.calibrator !== null,
    metrics,
    expectedConfusion: { tp, fp, fn, tn },
  };
}
