import { ValidationError } from '../errors';

/** What a model predicts. */
export type Task = 'binary' | 'multiclass' | 'regression';

/** Model inputs and targets as trainers consume them. */
export interface Dataset {
  /** Row-major `rows × cols`; NaN = missing. */
  readonly X: Float64Array;
  readonly rows: number;
  readonly cols: number;
  /** Targets: class index (classification) or value (regression). */
  readonly y: Float64Array;
}

/** Predictions of a model for `rows` rows. */
export interface Predictions {
  readonly rows: number;
  /** Regression outputs. */
  readonly prediction?: Float64Array;
  /** Classification: row-major `rows × classes` probabilities. */
  readonly probabilities?: Float64Array;
  readonly classes?: number;
}

/**
 * Checks a dataset before training: rows present, X and y sizes agree, no Infinity in features
 * (NaN is a missing value), no missing or non-finite labels, a label that varies, class indexes in
 * range. Errors say which split, which column/row and what to do.
 */
export function assertTrainable(
  data: Dataset,
  task: Task,
  split: string,
  featureNames: readonly string[],
  numClasses?: number,
): void {
  if (data.rows === 0)
    throw new ValidationError(`${split} split has no rows; widen the training dataset's time range.`, {
      location: split,
    });
  if (data.X.length !== data.rows * data.cols || data.y.length !== data.rows)
    throw new ValidationError(
      `${split} split: matrix sizes do not match (${data.rows} rows, ${data.cols} columns).`,
    );
  for (let i = 0; i < data.X.length; i++) {
    const v = data.X[i]!;
    if (v === Infinity || v === -Infinity) {
      const row = Math.floor(i / data.cols);
      const column = featureNames[i % data.cols] ?? `#${i % data.cols}`;
      throw new ValidationError(
        `${split} split: feature "${column}" is infinite at row ${row + 1}; clean it in the feature pipeline or add a transformation (e.g. impute, log).`,
        { location: `${split}.${column}` },
      );
    }
  }
  let first: number | undefined;
  let varies = false;
  for (let i = 0; i < data.rows; i++) {
    const v = data.y[i]!;
    if (!Number.isFinite(v))
      throw new ValidationError(
        `${split} split: label is missing or not finite at row ${i + 1}; filter such rows out in the feature view (filters: not_null).`,
        { location: `${split}.label` },
      );
    if (
      task !== 'regression' &&
      (!Number.isInteger(v) || v < 0 || (numClasses !== undefined && v >= numClasses))
    )
      throw new ValidationError(
        `${split} split: label ${v} at row ${i + 1} is not a class index below ${numClasses}.`,
      );
    if (first === undefined) first = v;
    else if (v !== first) varies = true;
  }
  if (!varies && split === 'train')
    throw new ValidationError(
      `${split} split: the label is constant (${first}); a model cannot learn from it. Check the label column and the time range.`,
      { location: `${split}.label` },
    );
}
