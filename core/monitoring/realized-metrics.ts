import { evaluate } from '../ml/metrics';
import type { Task } from '../ml/task';

/**
 * Realized metrics of labelled live rows, as training evaluates them, but without the metrics whose
 * denominator is empty in this window: with no positive label there is no recall, F1, ROC AUC or PR
 * AUC (and no ROC AUC with only positives); with no predicted positive there is no precision (binary). Training reports those as 0;
 * a monitor must not, or a quiet window would alert.
 */
export function realizedMetrics(
  task: Task,
  classes: number,
  y: Float64Array,
  probabilities: Float64Array,
  prediction: Float64Array | null,
  threshold = 0.5,
): Record<string, number> {
  if (y.length === 0) return {};
  const { metrics } = evaluate(
    task,
    y,
    task === 'regression'
      ? { rows: y.length, prediction: prediction! }
      : { rows: y.length, probabilities, classes },
    threshold,
  );
  const out = Object.fromEntries(Object.entries(metrics).filter(([, v]) => Number.isFinite(v)));
  if (task !== 'regression' && classes === 2) {
    let positives = 0;
    let predicted = 0;
    for (let i = 0; i < y.length; i++) {
      if (y[i] === 1) positives++;
      if (probabilities[i * 2 + 1]! >= threshold) predicted++;
    }
    if (positives === 0 || positives === y.length) delete out.roc_auc;
    if (positives === 0) {
      delete out.pr_auc;
      delete out.recall;
      delete out.f1;
    }
    if (predicted === 0) delete out.precision;
  }
  return out;
}
