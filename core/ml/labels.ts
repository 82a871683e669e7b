import { ValidationError } from '../errors';
import type { Task } from './task';

/** How label values map to targets. */
export interface LabelEncoding {
  readonly task: Task;
  /** Class names by index (classification). */
  readonly classes?: readonly string[];
}

function key(v: unknown): string | null {
  if (v === null || v === undefined) return null;
  if (typeof v === 'number' && !Number.isFinite(v)) return null;
  return typeof v === 'bigint' ? v.toString() : String(v);
}

/**
 * Decides the task and classes from the training labels, unless `task` is given: booleans and
 * {0, 1} → binary; text → binary/multiclass by class count; other integers with at most 20 distinct
 * values → multiclass; everything else → regression.
 */
export function inferLabelEncoding(values: readonly unknown[], task?: Task): LabelEncoding {
  const present = values.filter((v) => key(v) !== null);
  const distinct = [...new Set(present.map((v) => key(v)!))];
  const sortNatural = (xs: string[]) =>
    xs.every((x) => x.trim() !== '' && Number.isFinite(Number(x)))
      ? xs.sort((a, b) => Number(a) - Number(b))
      : xs.sort();
  if (task === 'regression') return { task };
  if (task) {
    const classes = sortNatural(distinct);
    if (task === 'binary' && classes.length > 2)
      throw new ValidationError(
        `task binary: the label has ${classes.length} distinct values (${classes.slice(0, 5).join(', ')}…); use multiclass.`,
      );
    return {
      task,
      classes:
        classes.length === 1 ? (typeof present[0] === 'boolean' ? ['false', 'true'] : classes) : classes,
    };
  }
  if (present.every((v) => typeof v === 'boolean')) return { task: 'binary', classes: ['false', 'true'] };
  if (present.some((v) => typeof v === 'string')) {
    const classes = distinct.sort();
    return { task: classes.length <= 2 ? 'binary' : 'multiclass', classes };
  }
  const numbers = present.map((v) => Number(v));
  if (numbers.every((n) => n === 0 || n === 1)) return { task: 'binary', classes: ['0', '1'] };
  if (numbers.every((n) => Number.isInteger(n)) && distinct.length <= 20)
    return { task: 'multiclass', classes: sortNatural(distinct) };
  return { task: 'regression' };
}

/** Targets for label values under an encoding; an unseen class is an error naming it. */
export function encodeLabels(
  values: readonly unknown[],
  encoding: LabelEncoding,
  split: string,
): Float64Array {
  if (encoding.task === 'regression')
    return Float64Array.from(values, (v) =>
      v === null || v === undefined ? Number.NaN : typeof v === 'boolean' ? Number(v) : Number(v as number),
    );
  const index = new Map(encoding.classes!.map((c, i) => [c, i]));
  return Float64Array.from(values, (v, row) => {
    const k = key(v);
    if (k === null) return Number.NaN;
    const i = index.get(k);
    if (i === undefined)
      throw new ValidationError(
        `${split} split: label ${JSON.stringify(k)} at row ${row + 1} was not seen in the train split (classes: ${encoding.classes!.join(', ')}).`,
      );
    return i;
  });
}
