import { z } from 'zod';
import { ValidationError } from '../../errors';

/**
 * Model-dependent transformations, declared per feature on a feature view. Each step is fitted on
 * the training split (a chain is fitted step by step on the previous step's output) and applied by
 * {@link applyStep} — the single code path used by training-data reads, batch inference and online
 * serving.
 */
export const transformStepSchema = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('standard_scaler') }),
  z.object({ kind: z.literal('min_max_scaler') }),
  z.object({ kind: z.literal('robust_scaler') }),
  z.object({
    kind: z.literal('one_hot'),
    /** `error`: an unseen category fails the request; `ignore`: it encodes as all zeros. */
    unknown: z.enum(['error', 'ignore']).default('ignore'),
    /** Keep only the most frequent categories (the rest count as unknown). */
    maxCategories: z.number().int().min(1).max(1000).default(100),
  }),
  z.object({
    kind: z.literal('label_encoder'),
    /** `error`: an unseen category fails; `ignore`: it encodes as -1. */
    unknown: z.enum(['error', 'ignore']).default('ignore'),
  }),
  z.object({
    kind: z.literal('log'),
    /** ln(x + offset); values with x + offset ≤ 0 become null. @default 1 (log1p) */
    offset: z.number().default(1),
  }),
  z.object({
    kind: z.literal('impute'),
    strategy: z.enum(['mean', 'median', 'mode', 'constant']),
    value: z.union([z.number(), z.string(), z.boolean()]).optional(),
  }),
  z.object({
    kind: z.literal('binning'),
    /** Explicit ascending boundaries; or `bins` quantile bins fitted on the training split. */
    boundaries: z.array(z.number()).min(1).optional(),
    bins: z.number().int().min(2).max(1000).optional(),
  }),
]);

/** A declared transformation step. */
export type TransformStep = z.input<typeof transformStepSchema>;
type Step = z.output<typeof transformStepSchema>;

/** A step with its fitted parameters (JSON-serializable; stored with the training dataset). */
export type FittedStep =
  | { kind: 'standard_scaler'; mean: number; std: number }
  | { kind: 'min_max_scaler'; min: number; max: number }
  | { kind: 'robust_scaler'; median: number; iqr: number }
  | { kind: 'one_hot'; categories: string[]; unknown: 'error' | 'ignore' }
  | { kind: 'label_encoder'; categories: string[]; unknown: 'error' | 'ignore' }
  | { kind: 'log'; offset: number }
  | { kind: 'impute'; value: number | string | boolean | null }
  | { kind: 'binning'; boundaries: number[] };

/** Fitted transformations of one feature view training dataset. */
export interface FittedTransformations {
  /** Untransformed model features, in view order. */
  readonly features: readonly string[];
  /** Per feature: fitted steps (empty = passthrough) and the output column names. */
  readonly steps: Readonly<Record<string, readonly FittedStep[]>>;
  /** The model's input columns after transformation, in order (one-hot expands a feature). */
  readonly outputs: readonly string[];
}

/** A value a feature may hold before encoding. */
export type RawValue = number | string | boolean | bigint | Date | null | undefined;

/** Parses one feature's declared step(s) (used when resolving a view). */
export function parseSteps(feature: string, declared: unknown): Step[] {
  const list = Array.isArray(declared) ? declared : [declared];
  return list.map((step, i) => {
    const parsed = transformStepSchema.safeParse(step);
    if (!parsed.success) {
      const problems = parsed.error.issues.map((x) => `${x.path.join('.') || 'kind'} ${x.message}`);
      throw new ValidationError(`transformation ${i + 1} of feature "${feature}": ${problems.join('; ')}`, {
        location: `transformations.${feature}[${i}]`,
      });
    }
    const s = parsed.data;
    if (s.kind === 'impute' && s.strategy === 'constant' && s.value === undefined)
      throw new ValidationError(`feature "${feature}": impute with strategy constant needs a value.`);
    if (s.kind === 'binning' && !s.boundaries && !s.bins)
      throw new ValidationError(`feature "${feature}": binning needs boundaries or bins.`);
    if (
      s.kind === 'binning' &&
      s.boundaries &&
      s.boundaries.some((b, j) => j > 0 && b <= s.boundaries![j - 1]!)
    )
      throw new ValidationError(`feature "${feature}": binning boundaries must be strictly ascending.`);
    return s;
  });
}

function toNumber(value: RawValue): number | null {
  if (value === null || value === undefined) return null;
  if (typeof value === 'number') return Number.isFinite(value) ? value : null;
  if (typeof value === 'bigint') return Number(value);
  if (typeof value === 'boolean') return value ? 1 : 0;
  if (value instanceof Date) return value.getTime();
  const n = Number(value);
  return value.trim() !== '' && Number.isFinite(n) ? n : null;
}

function category(value: RawValue): string | null {
  if (value === null || value === undefined) return null;
  if (value instanceof Date) return value.toISOString();
  return String(value);
}

function quantile(sorted: Float64Array, q: number): number {
  if (sorted.length === 0) return 0;
  const pos = (sorted.length - 1) * q;
  const lo = Math.floor(pos);
  const hi = Math.ceil(pos);
  return sorted[lo]! + (sorted[hi]! - sorted[lo]!) * (pos - lo);
}

function numericSorted(values: readonly RawValue[]): Float64Array {
  const out: number[] = [];
  for (const v of values) {
    const n = toNumber(v);
    if (n !== null) out.push(n);
  }
  return Float64Array.from(out).sort();
}

function counts(values: readonly RawValue[]): [string, number][] {
  const map = new Map<string, number>();
  for (const v of values) {
    const c = category(v);
    if (c !== null) map.set(c, (map.get(c) ?? 0) + 1);
  }
  // Most frequent first; ties by value so fitting is deterministic.
  return [...map].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
}

/** Fits one step on the training-split values it will see. */
export function fitStep(feature: string, step: Step, values: readonly RawValue[]): FittedStep {
  switch (step.kind) {
    case 'standard_scaler': {
      const xs = numericSorted(values);
      let mean = 0;
      for (const x of xs) mean += x / xs.length;
      let variance = 0;
      for (const x of xs) variance += (x - mean) ** 2 / xs.length;
      const std = Math.sqrt(variance);
      return { kind: step.kind, mean: xs.length ? mean : 0, std: std > 0 ? std : 1 };
    }
    case 'min_max_scaler': {
      const xs = numericSorted(values);
      return { kind: step.kind, min: xs.length ? xs[0]! : 0, max: xs.length ? xs[xs.length - 1]! : 1 };
    }
    case 'robust_scaler': {
      const xs = numericSorted(values);
      const iqr = quantile(xs, 0.75) - quantile(xs, 0.25);
      return { kind: step.kind, median: quantile(xs, 0.5), iqr: iqr > 0 ? iqr : 1 };
    }
    case 'one_hot':
      return {
        kind: step.kind,
        categories: counts(values)
          .slice(0, step.maxCategories)
          .map(([c]) => c)
          .sort(),
        unknown: step.unknown,
      };
    case 'label_encoder':
      return {
        kind: step.kind,
        categories: counts(values)
          .map(([c]) => c)
          .sort(),
        unknown: step.unknown,
      };
    case 'log':
      return { kind: step.kind, offset: step.offset };
    case 'impute': {
      if (step.strategy === 'constant') return { kind: 'impute', value: step.value ?? null };
      if (step.strategy === 'mode') {
        const top = counts(values)[0];
        const sample = values.find((v) => v !== null && v !== undefined);
        if (!top) return { kind: 'impute', value: null };
        return { kind: 'impute', value: typeof sample === 'number' ? Number(top[0]) : top[0] };
      }
      const xs = numericSorted(values);
      if (xs.length === 0) return { kind: 'impute', value: null };
      if (step.strategy === 'median') return { kind: 'impute', value: quantile(xs, 0.5) };
      let mean = 0;
      for (const x of xs) mean += x / xs.length;
      return { kind: 'impute', value: mean };
    }
    case 'binning': {
      if (step.boundaries) return { kind: step.kind, boundaries: [...step.boundaries] };
      const xs = numericSorted(values);
      const edges = new Set<number>();
      for (let i = 1; i < step.bins!; i++) edges.add(quantile(xs, i / step.bins!));
      return { kind: step.kind, boundaries: [...edges].sort((a, b) => a - b) };
    }
  }
  throw new ValidationError(`feature "${feature}": unknown transformation`);
}

/** Output columns a feature's chain produces. */
export function outputsOf(feature: string, steps: readonly FittedStep[]): string[] {
  const last = steps.at(-1);
  if (last?.kind === 'one_hot') return last.categories.map((c) => `${feature}=${c}`);
  return [feature];
}

/** Raised when a value cannot be encoded (unknown category with policy `error`). */
export class UnknownCategoryError extends ValidationError {}

/**
 * Applies one fitted step to one value: the single implementation behind every transformation path.
 * Numeric steps pass nulls through; one-hot returns an array of 0/1 (all zero for null or ignored
 * unknowns).
 */
export function applyStep(
  feature: string,
  step: FittedStep,
  value: RawValue | number[],
): RawValue | number[] {
  if (Array.isArray(value)) throw new ValidationError(`feature "${feature}": ${step.kind} follows one_hot`);
  switch (step.kind) {
    case 'standard_scaler': {
      const x = toNumber(value);
      return x === null ? null : (x - step.mean) / step.std;
    }
    case 'min_max_scaler': {
      const x = toNumber(value);
      const range = step.max - step.min;
      return x === null ? null : range === 0 ? 0 : (x - step.min) / range;
    }
    case 'robust_scaler': {
      const x = toNumber(value);
      return x === null ? null : (x - step.median) / step.iqr;
    }
    case 'log': {
      const x = toNumber(value);
      return x === null || x + step.offset <= 0 ? null : Math.log(x + step.offset);
    }
    case 'impute':
      return value === null || value === undefined || (typeof value === 'number' && Number.isNaN(value))
        ? step.value
        : value;
    case 'binning': {
      const x = toNumber(value);
      if (x === null) return null;
      let bin = 0;
      while (bin < step.boundaries.length && x >= step.boundaries[bin]!) bin++;
      return bin;
    }
    case 'label_encoder': {
      const c = category(value);
      if (c === null) return null;
      const index = binarySearch(step.categories, c);
      if (index >= 0) return index;
      if (step.unknown === 'error') throw unknownCategory(feature, c);
      return -1;
    }
    case 'one_hot': {
      const out = new Array<number>(step.categories.length).fill(0);
      const c = category(value);
      if (c === null) return out;
      const index = binarySearch(step.categories, c);
      if (index >= 0) out[index] = 1;
      else if (step.unknown === 'error') throw unknownCategory(feature, c);
      return out;
    }
  }
}

function unknownCategory(feature: string, value: string): UnknownCategoryError {
  return new UnknownCategoryError(
    `feature "${feature}": category ${JSON.stringify(value)} was not seen in the training split (unknown policy: error).`,
    { location: feature },
  );
}

function binarySearch(sorted: readonly string[], value: string): number {
  let lo = 0;
  let hi = sorted.length - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    const v = sorted[mid]!;
    if (v === value) return mid;
    if (v < value) lo = mid + 1;
    else hi = mid - 1;
  }
  return -1;
}

/**
 * Fits every declared transformation on the training split. `columnOf(feature)` returns the
 * training-split values of a feature. Features without a declaration pass through.
 */
export function fitTransformations(
  features: readonly string[],
  declared: Readonly<Record<string, unknown>>,
  columnOf: (feature: string) => readonly RawValue[],
): FittedTransformations {
  const steps: Record<string, FittedStep[]> = {};
  const outputs: string[] = [];
  for (const feature of features) {
    const chain = declared[feature] === undefined ? [] : parseSteps(feature, declared[feature]);
    const fitted: FittedStep[] = [];
    if (chain.length > 0) {
      let values: readonly RawValue[] = columnOf(feature);
      for (const step of chain) {
        const f = fitStep(feature, step, values);
        fitted.push(f);
        if (f.kind !== 'one_hot') values = values.map((v) => applyStep(feature, f, v) as RawValue);
      }
    }
    steps[feature] = fitted;
    outputs.push(...outputsOf(feature, fitted));
  }
  return { features: [...features], steps, outputs };
}

/**
 * Transforms one feature value through its fitted chain and appends the result(s) to `out`:
 * numbers (null → NaN) for the model. Strings without an encoder are an error naming the fix.
 */
export function encodeFeature(
  fitted: FittedTransformations,
  feature: string,
  value: RawValue,
  out: number[],
): void {
  let v: RawValue | number[] = value;
  for (const step of fitted.steps[feature] ?? []) v = applyStep(feature, step, v as RawValue);
  if (Array.isArray(v)) {
    out.push(...v);
    return;
  }
  if (typeof v === 'string') {
    const n = Number(v);
    if (v.trim() === '' || !Number.isFinite(n)) {
      throw new ValidationError(
        `feature "${feature}" holds text (${JSON.stringify(v.slice(0, 40))}); declare a one_hot or label_encoder transformation for it.`,
        { location: feature },
      );
    }
    out.push(n);
    return;
  }
  const n = toNumber(v);
  out.push(n === null ? Number.NaN : n);
}

/** One row's model input vector (length = `fitted.outputs.length`). */
export function encodeRow(fitted: FittedTransformations, row: Readonly<Record<string, unknown>>): number[] {
  const out: number[] = [];
  for (const feature of fitted.features) encodeFeature(fitted, feature, row[feature] as RawValue, out);
  return out;
}

/** Identity transformations (no declarations) for a feature list: every feature passes through. */
export function passthrough(features: readonly string[]): FittedTransformations {
  return fitTransformations(features, {}, () => []);
}
