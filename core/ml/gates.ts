import { z } from 'zod';
import { HIGHER_IS_BETTER } from './metrics';

const metricName = z
  .string()
  .regex(/^[a-z][a-z0-9_]{0,40}$/, { message: 'must be a metric name such as roc_auc' });

/** Validation gates a training pipeline declares; a model failing any of them is rejected. */
export const gatesSchema = z
  .object({
    /** Absolute bounds on test-split metrics, e.g. `{ roc_auc: { min: 0.8 }, log_loss: { max: 0.5 } }`. */
    thresholds: z
      .record(metricName, z.object({ min: z.number().optional(), max: z.number().optional() }).strict())
      .default({}),
    /** No worse than the model holding `alias` (scored on the same test split) by more than `maxDegradation`. */
    champion: z
      .object({
        alias: z.string().min(1).default('champion'),
        metric: metricName,
        maxDegradation: z.number().min(0).default(0),
      })
      .strict()
      .optional(),
    /** The largest gap of `metric` between slices of `column` must not exceed `maxGap`. */
    slices: z
      .object({
        column: z.string().min(1),
        metric: metricName,
        maxGap: z.number().min(0),
        minRows: z.number().int().min(1).default(20),
      })
      .strict()
      .optional(),
  })
  .strict();

/** Gates as declared. */
export type Gates = z.input<typeof gatesSchema>;
/** Gates after defaults. */
export type ParsedGates = z.output<typeof gatesSchema>;

/** One gate's outcome. */
export interface GateResult {
  readonly gate: string;
  readonly passed: boolean;
  readonly detail: string;
}

/** All gates' outcomes. */
export interface GateReport {
  readonly passed: boolean;
  readonly results: readonly GateResult[];
}

/**
 * Applies gates to a candidate's test metrics, the champion comparison (if any model holds the
 * alias; no champion passes the gate) and the slice gaps. The champion gate compares the two on the
 * same rows: `champion.candidateMetrics` when given (the candidate on the rows the champion did not
 * train on), else the candidate's test metrics.
 */
export function applyGates(
  gates: ParsedGates,
  candidate: Readonly<Record<string, number>>,
  champion:
    | {
        readonly version: number;
        readonly metrics: Readonly<Record<string, number>>;
        readonly candidateMetrics?: Readonly<Record<string, number>>;
        readonly rows?: number;
      }
    | undefined,
  sliceGaps: Readonly<Record<string, number>> | undefined,
): GateReport {
  const results: GateResult[] = [];
  for (const [metric, bound] of Object.entries(gates.thresholds)) {
    const value = candidate[metric];
    if (value === undefined || Number.isNaN(value)) {
      results.push({
        gate: `threshold ${metric}`,
        passed: false,
        detail: `metric ${metric} was not computed for this task`,
      });
      continue;
    }
    const okMin = bound.min === undefined || value >= bound.min;
    const okMax = bound.max === undefined || value <= bound.max;
    results.push({
      gate: `threshold ${metric}`,
      passed: okMin && okMax,
      detail: `${metric} = ${value.toFixed(4)}${bound.min !== undefined ? `, min ${bound.min}` : ''}${bound.max !== undefined ? `, max ${bound.max}` : ''}`,
    });
  }
  if (gates.champion) {
    const { metric, maxDegradation, alias } = gates.champion;
    if (!champion)
      results.push({ gate: `vs ${alias}`, passed: true, detail: `no model holds alias ${alias} yet` });
    else {
      const mine = (champion.candidateMetrics ?? candidate)[metric];
      const theirs = champion.metrics[metric];
      if (mine === undefined || theirs === undefined)
        results.push({
          gate: `vs ${alias}`,
          passed: false,
          detail: `metric ${metric} missing for the comparison`,
        });
      else {
        const worseBy = HIGHER_IS_BETTER.has(metric) ? theirs - mine : mine - theirs;
        results.push({
          gate: `vs ${alias}`,
          passed: worseBy <= maxDegradation,
          detail: `${metric}: candidate ${mine.toFixed(4)} vs ${alias} v${champion.version} ${theirs.toFixed(4)}${champion.rows !== undefined ? ` on the same ${champion.rows} rows` : ''} (worse by ${Math.max(0, worseBy).toFixed(4)}, allowed ${maxDegradation})`,
        });
      }
    }
  }
  if (gates.slices) {
    const { column, metric, maxGap } = gates.slices;
    const gap = sliceGaps?.[metric];
    results.push(
      gap === undefined
        ? {
            gate: `slice gap ${column}`,
            passed: false,
            detail: `fewer than two slices of ${column} with enough rows to compare ${metric}`,
          }
        : {
            gate: `slice gap ${column}`,
            passed: gap <= maxGap,
            detail: `largest ${metric} gap between ${column} slices ${gap.toFixed(4)}, allowed ${maxGap}`,
          },
    );
  }
  return { passed: results.every((r) => r.passed), results };
}
