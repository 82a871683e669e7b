/**
 * Drift and data-quality checks of a window against its reference profile, per column, with
 * documented default thresholds (overridable per column).
 */
import {
  alignCategories,
  categoricalDriftFromCounts,
  numericDriftFromBins,
  type CategoricalStatistics,
  type NumericStatistics,
} from './binned';
import type { DriftOptions, DriftResult } from './drift';
import type { DataProfile, WindowProfile } from './profile';

/** Thresholds of one column; every field is optional and falls back to {@link DEFAULT_QUALITY}. */
export interface ColumnThresholds extends DriftOptions {
  /** Alarm when the window's missing-value rate exceeds the reference's by more than this. */
  readonly nullRateIncrease?: number;
  /** Alarm when more than this share of the window's values lies outside the reference's [min, max]. */
  readonly outOfRange?: number;
  /** Alarm when more than this share of the window's values are categories the reference never saw. */
  readonly unseen?: number;
}

/**
 * Default data-quality thresholds: missing values up by more than 5 percentage points; more than 1 %
 * of values outside the training range; more than 1 % of values in categories training never saw.
 * Drift defaults are those of `numericDrift` / `categoricalDrift` (test by sample size, p < 0.01).
 */
export const DEFAULT_QUALITY = { nullRateIncrease: 0.05, outOfRange: 0.01, unseen: 0.01 } as const;

/** The checks of one column in one window. */
export interface ColumnCheck {
  readonly column: string;
  readonly kind: 'numeric' | 'categorical';
  /** Non-missing values in the window. */
  readonly values: number;
  /** The decisive drift test, or null when the window or the reference has no values. */
  readonly drift: (DriftResult & { statistics: NumericStatistics | CategoricalStatistics }) | null;
  readonly nullRate: number;
  readonly referenceNullRate: number;
  /** Numeric: share of values outside the reference's [min, max]. */
  readonly outOfRange?: number;
  /** Categorical: share of values in categories the reference never saw, and a few of them. */
  readonly unseen?: number;
  readonly unseenExamples?: readonly string[];
  /** What crossed its threshold: `drift`, `null_rate`, `out_of_range`, `unseen_categories`. */
  readonly problems: readonly ColumnProblem[];
}

/** A threshold a column crossed. */
export type ColumnProblem = 'drift' | 'null_rate' | 'out_of_range' | 'unseen_categories';

/** The checks of a whole window. */
export interface WindowChecks {
  readonly rows: number;
  readonly columns: readonly ColumnCheck[];
  /** Share of checked columns that drifted (Evidently's dataset drift share). */
  readonly driftShare: number;
}

/**
 * Checks every column the window and the reference share. A column whose window has no values
 * gets no drift result (and, when the reference had values, a null-rate problem).
 */
export function checkWindow(
  reference: DataProfile,
  window: WindowProfile,
  thresholds: Readonly<Record<string, ColumnThresholds>> = {},
): WindowChecks {
  const columns: ColumnCheck[] = [];
  for (const [column, ref] of Object.entries(reference.columns)) {
    const cur = window.columns[column];
    if (!cur || cur.kind !== ref.kind) continue;
    const t = thresholds[column] ?? {};
    const total = (x: { count: number; nulls: number }) => x.count + x.nulls;
    const nullRate = total(cur) > 0 ? cur.nulls / total(cur) : 0;
    const referenceNullRate = total(ref) > 0 ? ref.nulls / total(ref) : 0;
    const problems: ColumnProblem[] = [];
    if (
      total(cur) > 0 &&
      nullRate - referenceNullRate > (t.nullRateIncrease ?? DEFAULT_QUALITY.nullRateIncrease)
    )
      problems.push('null_rate');
    // A method for the other kind of column (ks on categories) is ignored, not an error mid-window.
    const fits =
      t.method === undefined ||
      (ref.kind === 'numeric') === (t.method === 'ks' || t.method === 'wasserstein');
    const options = fits ? { method: t.method, threshold: t.threshold } : { threshold: undefined };
    if (ref.kind === 'numeric' && cur.kind === 'numeric') {
      const drift = ref.count > 0 && cur.count > 0 ? numericDriftFromBins(ref, cur, options) : null;
      const outOfRange = cur.count > 0 ? (cur.below + cur.above) / cur.count : 0;
      if (drift?.drift) problems.unshift('drift');
      if (outOfRange > (t.outOfRange ?? DEFAULT_QUALITY.outOfRange)) problems.push('out_of_range');
      columns.push({
        column,
        kind: 'numeric',
        values: cur.count,
        drift,
        nullRate,
        referenceNullRate,
        outOfRange,
        problems,
      });
    } else if (ref.kind === 'categorical' && cur.kind === 'categorical') {
      const drift = ref.count > 0 && cur.count > 0 ? categoricalDriftFromCounts(ref, cur, options) : null;
      const aligned = alignCategories(ref, cur);
      const unseen = cur.count > 0 ? aligned.unseen / cur.count : 0;
      if (drift?.drift) problems.unshift('drift');
      if (unseen > (t.unseen ?? DEFAULT_QUALITY.unseen)) problems.push('unseen_categories');
      columns.push({
        column,
        kind: 'categorical',
        values: cur.count,
        drift,
        nullRate,
        referenceNullRate,
        unseen,
        unseenExamples: aligned.unseenExamples,
        problems,
      });
    }
  }
  const tested = columns.filter((c) => c.drift);
  return {
    rows: window.rows,
    columns,
    driftShare: tested.length ? tested.filter((c) => c.drift!.drift).length / tested.length : 0,
  };
}
