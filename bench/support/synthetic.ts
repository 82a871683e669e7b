import { seededRandom, type Dataset } from '../../core/ml';

/**
 * A binary classification problem trees can learn but not perfectly (interactions, thresholds and
 * noise over `cols` uniform features), the same for every trainer benchmark and seed.
 */
export function syntheticBinary(n: number, cols: number, seed: number): Dataset {
  const random = seededRandom(seed);
  const X = new Float64Array(n * cols);
  const y = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < cols; j++) X[i * cols + j] = random() * 2 - 1;
    const x = X.subarray(i * cols, (i + 1) * cols);
    const z =
      2 * x[0]! * x[1]! +
      (x[2]! > 0.3 ? 1.2 : -0.4) +
      Math.sin(3 * x[3]!) +
      0.8 * x[4]! * x[4]! -
      0.5 * x[5]! +
      (random() - 0.5) * 1.5;
    y[i] = z > 0.4 ? 1 : 0;
  }
  return { X, rows: n, cols, y };
}
