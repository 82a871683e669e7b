import { normalFrom, seededRandom } from '../../core/ml/random';
import type { Dataset } from '../../core/ml/task';

/** Columns of {@link rareFraudLike}. */
export const RARE_FRAUD_COLUMNS = ['amount_z', 'card_testing', 'channel', 'noise_a', 'noise_b', 'noise_c'];

/**
 * Card-fraud-shaped binary data: about `rate` positives (0.15 % by default), most of them in a
 * region (`card_testing` = 1) that also holds 0.6 % of the negatives, so that region is a leaf of a
 * few hundred rows, a fifth of them positive, whose hessian sum is about 1: exactly where an
 * uncapped Newton step overshoots. Deterministic for a seed.
 */
export function rareFraudLike(rows: number, seed: number, rate = 0.0015): Dataset {
  const cols = RARE_FRAUD_COLUMNS.length;
  const random = seededRandom(seed);
  const normal = normalFrom(random);
  const X = new Float64Array(rows * cols);
  const y = new Float64Array(rows);
  for (let i = 0; i < rows; i++) {
    const positive = random() < rate;
    y[i] = positive ? 1 : 0;
    const at = i * cols;
    X[at] = positive ? 0.8 + normal() : normal();
    X[at + 1] = random() < (positive ? 0.9 : 0.006) ? 1 : 0;
    X[at + 2] = Math.floor(random() * 5);
    for (let f = 3; f < cols; f++) X[at + f] = normal();
  }
  return { X, rows, cols, y };
}

/** Mean binary log loss of probabilities `p` (clipped at 1e-15) against labels `y`. */
export function logLoss(y: ArrayLike<number>, p: ArrayLike<number>): number {
  let total = 0;
  for (let i = 0; i < y.length; i++) {
    const q = Math.min(Math.max(p[i]!, 1e-15), 1 - 1e-15);
    total -= y[i] === 1 ? Math.log(q) : Math.log(1 - q);
  }
  return total / y.length;
}

/** Log loss of always predicting the positive rate of `y` (what any useful model must beat). */
export function baseRateLogLoss(y: ArrayLike<number>): number {
  let positives = 0;
  for (let i = 0; i < y.length; i++) positives += y[i]!;
  const q = positives / y.length;
  return -(q * Math.log(q) + (1 - q) * Math.log(1 - q));
}
