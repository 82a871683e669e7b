/**
 * Champion versus challenger on live labelled traffic: the metric difference with a bootstrap
 * confidence interval, paired on the same requests when the challenger runs as a shadow.
 */
import { poolOf, type Database } from '../db';
import { evaluate, HIGHER_IS_BETTER } from '../ml/metrics';
import { seededRandom } from '../ml/random';
import type { Task } from '../ml/task';
import { nearestLabelJoin, scoredRow } from './labels';

/** One labelled, scored row of one variant. */
interface Row {
  readonly key: string;
  readonly probabilities: readonly number[];
  readonly prediction: number;
  readonly y: number;
}

/** The verdict of a live comparison. */
export interface LiveComparison {
  readonly metric: string;
  /** `paired`: both variants scored the same labelled requests (shadow); else independent samples (A/B). */
  readonly design: 'paired' | 'independent';
  readonly champion: { readonly variant: string; readonly rows: number; readonly value: number };
  readonly challenger: { readonly variant: string; readonly rows: number; readonly value: number };
  /** challenger − champion, signed so that positive means the challenger is better. */
  readonly improvement: number;
  /** Bootstrap percentile interval of `improvement` at `confidence`. */
  readonly interval: readonly [number, number];
  readonly confidence: number;
  readonly resamples: number;
  /** `better`: the interval lies above 0; `worse`: below; `undecided`: it spans 0 or too few labels. */
  readonly verdict: 'better' | 'worse' | 'undecided';
  readonly reason: string;
}

/** Reads the labelled rows of one variant since `since` (labels joined by keys and nearest event time). */
async function labelledRows(
  db: Database,
  options: {
    deployment: string;
    variant: string;
    since: Date;
    toleranceSeconds: number;
    classes: readonly string[] | null;
  },
): Promise<Row[]> {
  const { rows } = await poolOf(db).query<{ k: string; p: string; y: string }>(
    `SELECT p.request_id || ' ' || p.entity::text AS k, p.prediction::text AS p, l.label::text AS y
     FROM prediction_logs p ${nearestLabelJoin('$4', 'JOIN')}
     WHERE p.deployment = $1 AND p.variant = $2 AND p.created_at >= $3`,
    [options.deployment, options.variant, options.since, options.toleranceSeconds],
  );
  return rows.map((r) => ({ key: r.k, ...scoredRow(r.p, r.y, options.classes) }));
}

function metricOf(
  task: Task,
  classes: readonly string[] | null,
  rows: readonly Row[],
  metric: string,
): number {
  const y = Float64Array.from(rows, (r) => r.y);
  const { metrics } = evaluate(
    task,
    y,
    task === 'regression'
      ? { rows: rows.length, prediction: Float64Array.from(rows, (r) => r.prediction) }
      : {
          rows: rows.length,
          probabilities: Float64Array.from(rows.flatMap((r) => r.probabilities)),
          classes: classes!.length,
        },
  );
  return metrics[metric] ?? Number.NaN;
}

/**
 * Compares two variants of a deployment on the labelled requests since `since`. With a shadow
 * challenger both scored the same requests, and the bootstrap resamples those pairs (a paired
 * comparison: much tighter than two independent samples); otherwise each variant's rows are
 * resampled independently. The verdict is `better` only when the whole interval shows the
 * challenger ahead, and needs at least `minLabels` labelled rows per variant.
 */
export async function compareOnLiveLabels(
  db: Database,
  options: {
    deployment: string;
    champion: string;
    challenger: string;
    since: Date;
    metric: string;
    task: Task;
    classes: readonly string[] | null;
    minLabels: number;
    confidence?: number;
    resamples?: number;
    seed?: number;
    toleranceSeconds?: number;
  },
): Promise<LiveComparison> {
  const confidence = options.confidence ?? 0.95;
  const resamples = options.resamples ?? 1000;
  const read = (variant: string) =>
    labelledRows(db, {
      deployment: options.deployment,
      variant,
      since: options.since,
      toleranceSeconds: options.toleranceSeconds ?? 60,
      classes: options.classes,
    });
  const [a, b] = await Promise.all([read(options.champion), read(options.challenger)]);
  const sign = HIGHER_IS_BETTER.has(options.metric) ? 1 : -1;
  const byKey = new Map(b.map((r) => [r.key, r]));
  const pairs = a.filter((r) => byKey.has(r.key)).map((r) => [r, byKey.get(r.key)!] as const);
  const paired = pairs.length >= Math.min(a.length, b.length) * 0.9 && pairs.length > 0;
  const champRows = paired ? pairs.map((p) => p[0]) : a;
  const challRows = paired ? pairs.map((p) => p[1]) : b;
  const m = (rows: readonly Row[]) => metricOf(options.task, options.classes, rows, options.metric);
  const base = {
    metric: options.metric,
    design: paired ? ('paired' as const) : ('independent' as const),
    champion: { variant: options.champion, rows: champRows.length, value: m(champRows) },
    challenger: { variant: options.challenger, rows: challRows.length, value: m(challRows) },
    confidence,
    resamples,
  };
  const improvement = sign * (base.challenger.value - base.champion.value);
  if (Math.min(champRows.length, challRows.length) < options.minLabels)
    return {
      ...base,
      improvement,
      interval: [Number.NaN, Number.NaN],
      verdict: 'undecided',
      reason: `${Math.min(champRows.length, challRows.length)} labelled rows per variant so far; ${options.minLabels} needed`,
    };
  const random = seededRandom(options.seed ?? 7);
  const draw = (n: number) => Array.from({ length: n }, () => Math.floor(random() * n));
  const diffs: number[] = [];
  for (let i = 0; i < resamples; i++) {
    let d: number;
    if (paired) {
      const idx = draw(pairs.length);
      d = sign * (m(idx.map((j) => pairs[j]![1])) - m(idx.map((j) => pairs[j]![0])));
    } else
      d =
        sign *
        (m(draw(challRows.length).map((j) => challRows[j]!)) -
          m(draw(champRows.length).map((j) => champRows[j]!)));
    if (Number.isFinite(d)) diffs.push(d);
  }
  diffs.sort((x, y) => x - y);
  const q = (p: number) => diffs[Math.min(diffs.length - 1, Math.max(0, Math.floor(p * diffs.length)))]!;
  const interval: [number, number] = diffs.length
    ? [q((1 - confidence) / 2), q(1 - (1 - confidence) / 2)]
    : [Number.NaN, Number.NaN];
  const verdict = interval[0] > 0 ? 'better' : interval[1] < 0 ? 'worse' : 'undecided';
  return {
    ...base,
    improvement,
    interval,
    verdict,
    reason:
      verdict === 'better'
        ? `challenger ${options.metric} ahead by ${improvement.toFixed(4)} (${confidence * 100} % interval ${interval[0].toFixed(4)} … ${interval[1].toFixed(4)}, all above 0)`
        : verdict === 'worse'
          ? `challenger ${options.metric} behind by ${(-improvement).toFixed(4)} (interval ${interval[0].toFixed(4)} … ${interval[1].toFixed(4)}, all below 0)`
          : `difference ${improvement.toFixed(4)} not significant (interval ${interval[0].toFixed(4)} … ${interval[1].toFixed(4)} spans 0)`,
  };
}
