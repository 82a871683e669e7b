import { fitCbpeReference, type CbpeReference } from './cbpe';
import { numericProfileOf, type ColumnProfile, type DataProfile } from './profile';

/**
 * Column names of a prediction profile: `prediction` (regression), `label` (the predicted class)
 * and `probability:<class>` (each class's probability). The prediction log is read into the same
 * columns, so served predictions and the evaluation split compare like for like.
 */
export function predictionColumns(classes: readonly string[] | undefined): string[] {
  return classes ? ['label', ...classes.map((c) => `probability:${c}`)] : ['prediction'];
}

/**
 * The profile of a model's outputs on a labeled split: regression values, or the predicted class
 * (argmax, as the server answers) and each class's probability. Computed once at evaluation and
 * stored with the model version, it is the reference of prediction drift.
 */
export function predictionProfileOf(
  outputs: {
    readonly rows: number;
    readonly prediction?: ArrayLike<number>;
    readonly probabilities?: ArrayLike<number>;
  },
  classes: readonly string[] | undefined,
): DataProfile {
  const columns: Record<string, ColumnProfile> = {};
  if (!classes || !outputs.probabilities) {
    columns.prediction = numericProfileOf(outputs.prediction ?? []);
    return { rows: outputs.rows, columns };
  }
  const k = classes.length;
  const p = outputs.probabilities;
  const frequencies: Record<string, number> = {};
  for (let r = 0; r < outputs.rows; r++) {
    let best = 0;
    for (let c = 1; c < k; c++) if (p[r * k + c]! > p[r * k + best]!) best = c;
    frequencies[classes[best]!] = (frequencies[classes[best]!] ?? 0) + 1;
  }
  columns.label = { kind: 'categorical', count: outputs.rows, nulls: 0, frequencies, other: 0 };
  classes.forEach((name, c) => {
    columns[`probability:${name}`] = numericProfileOf(
      Float64Array.from({ length: outputs.rows }, (_, r) => p[r * k + c]!),
    );
  });
  return { rows: outputs.rows, columns };
}

/**
 * What a model version stores for monitoring: its prediction profile on the evaluation split, and
 * (binary classifiers) the CBPE reference that estimates performance before labels arrive.
 */
export interface ModelReferenceProfile {
  readonly split: string;
  readonly rows: number;
  readonly predictions: DataProfile;
  readonly cbpe?: CbpeReference;
}

/** The serving threshold of binary classifiers: the server answers the class with the larger probability. */
export const BINARY_THRESHOLD = 0.5;

/**
 * CBPE reference of a binary classifier from its evaluation split: row-major probabilities of both
 * classes and the class index (0/1) of each row. Positive = the second class, as the server's
 * argmax and `probability:<second class>` treat it.
 */
export function binaryCbpeReference(
  probabilities: ArrayLike<number>,
  labels: ArrayLike<number>,
): CbpeReference {
  const positive = Float64Array.from({ length: labels.length }, (_, r) =>
    Math.min(1, Math.max(0, probabilities[r * 2 + 1]!)),
  );
  return fitCbpeReference({ probabilities: positive, labels, threshold: BINARY_THRESHOLD });
}
