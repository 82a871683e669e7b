import type { Predictions, Task } from './task';

/** Metric values by name (e.g. `roc_auc`, `rmse`) plus a confusion matrix for classification. */
export interface Evaluation {
  readonly metrics: Readonly<Record<string, number>>;
  /** `[actual][predicted]` counts. */
  readonly confusionMatrix?: readonly (readonly number[])[];
  readonly rows: number;
}

/** Metrics where larger is better; the rest (losses, errors) are better smaller. */
export const HIGHER_IS_BETTER = new Set(['accuracy', 'precision', 'recall', 'f1', 'roc_auc', 'pr_auc', 'r2']);

/** Area under the ROC curve from scores (ties share ranks: Mann–Whitney U). NaN with one class. */
export function rocAuc(y: ArrayLike<number>, score: ArrayLike<number>): number {
  const n = y.length;
  const order = Array.from({ length: n }, (_, i) => i).sort((a, b) => score[a]! - score[b]!);
  let positives = 0;
  let rankSum = 0;
  for (let i = 0; i < n;) {
    let j = i;
    while (j + 1 < n && score[order[j + 1]!] === score[order[i]!]) j++;
    const rank = (i + j) / 2 + 1;
    for (let k = i; k <= j; k++)
      if (y[order[k]!] === 1) {
        positives++;
        rankSum += rank;
      }
    i = j + 1;
  }
  const negatives = n - positives;
  if (positives === 0 || negatives === 0) return Number.NaN;
  return (rankSum - (positives * (positives + 1)) / 2) / (positives * negatives);
}

/** Average precision (area under the precision–recall curve, step-wise; tied scores form one step). */
export function prAuc(y: ArrayLike<number>, score: ArrayLike<number>): number {
  const n = y.length;
  const order = Array.from({ length: n }, (_, i) => i).sort((a, b) => score[b]! - score[a]!);
  let positives = 0;
  for (let i = 0; i < n; i++) if (y[i] === 1) positives++;
  if (positives === 0) return Number.NaN;
  let tp = 0;
  let seen = 0;
  let ap = 0;
  for (let i = 0; i < n;) {
    let j = i;
    while (j + 1 < n && score[order[j + 1]!] === score[order[i]!]) j++;
    let newTp = 0;
    for (let k = i; k <= j; k++) if (y[order[k]!] === 1) newTp++;
    tp += newTp;
    seen += j - i + 1;
    ap += (newTp / positives) * (tp / seen);
    i = j + 1;
  }
  return ap;
}

function confusion(y: ArrayLike<number>, predicted: ArrayLike<number>, k: number): number[][] {
  const m = Array.from({ length: k }, () => new Array<number>(k).fill(0));
  for (let i = 0; i < y.length; i++) m[y[i]!]![predicted[i]!]! += 1;
  return m;
}

/**
 * Evaluates predictions against targets: accuracy, precision, recall, F1 (binary: positive class
 * 1; multiclass: macro averages), ROC AUC and PR AUC (binary; ROC AUC one-vs-rest macro for
 * multiclass), log loss and the confusion matrix; MAE, RMSE and R² for regression.
 */
export function evaluate(task: Task, y: Float64Array, predictions: Predictions, threshold = 0.5): Evaluation {
  const n = y.length;
  if (task === 'regression') {
    const p = predictions.prediction!;
    let abs = 0;
    let sq = 0;
    let mean = 0;
    for (let i = 0; i < n; i++) mean += y[i]! / n;
    let total = 0;
    for (let i = 0; i < n; i++) {
      abs += Math.abs(p[i]! - y[i]!);
      sq += (p[i]! - y[i]!) ** 2;
      total += (y[i]! - mean) ** 2;
    }
    return {
      rows: n,
      metrics: { mae: abs / n, rmse: Math.sqrt(sq / n), r2: total === 0 ? Number.NaN : 1 - sq / total },
    };
  }
  const k = predictions.classes!;
  const P = predictions.probabilities!;
  const predicted = new Int32Array(n);
  let logLoss = 0;
  for (let i = 0; i < n; i++) {
    if (k === 2) predicted[i] = P[i * 2 + 1]! >= threshold ? 1 : 0;
    else {
      let best = 0;
      for (let c = 1; c < k; c++) if (P[i * k + c]! > P[i * k + best]!) best = c;
      predicted[i] = best;
    }
    logLoss -= Math.log(Math.min(Math.max(P[i * k + y[i]!]!, 1e-15), 1));
  }
  const m = confusion(y, predicted, k);
  let correct = 0;
  for (let c = 0; c < k; c++) correct += m[c]![c]!;
  const perClass = (c: number) => {
    const tp = m[c]![c]!;
    let fp = 0;
    let fn = 0;
    for (let o = 0; o < k; o++)
      if (o !== c) {
        fp += m[o]![c]!;
        fn += m[c]![o]!;
      }
    const precision = tp + fp === 0 ? 0 : tp / (tp + fp);
    const recall = tp + fn === 0 ? 0 : tp / (tp + fn);
    return {
      precision,
      recall,
      f1: precision + recall === 0 ? 0 : (2 * precision * recall) / (precision + recall),
    };
  };
  const metrics: Record<string, number> = { accuracy: correct / n, log_loss: logLoss / n };
  if (k === 2) {
    Object.assign(metrics, perClass(1));
    const score = new Float64Array(n);
    for (let i = 0; i < n; i++) score[i] = P[i * 2 + 1]!;
    metrics.roc_auc = rocAuc(y, score);
    metrics.pr_auc = prAuc(y, score);
  } else {
    const classes = Array.from({ length: k }, (_, c) => perClass(c));
    metrics.precision = classes.reduce((a, c) => a + c.precision, 0) / k;
    metrics.recall = classes.reduce((a, c) => a + c.recall, 0) / k;
    metrics.f1 = classes.reduce((a, c) => a + c.f1, 0) / k;
    const aucs: number[] = [];
    for (let c = 0; c < k; c++) {
      const yc = Float64Array.from(y, (v) => (v === c ? 1 : 0));
      const sc = new Float64Array(n);
      for (let i = 0; i < n; i++) sc[i] = P[i * k + c]!;
      const auc = rocAuc(yc, sc);
      if (!Number.isNaN(auc)) aucs.push(auc);
    }
    metrics.roc_auc = aucs.length ? aucs.reduce((a, b) => a + b, 0) / aucs.length : Number.NaN;
  }
  return { rows: n, metrics, confusionMatrix: m };
}

/** Metrics per slice of a column, and the largest gap of each metric between slices. */
export interface SliceEvaluation {
  readonly column: string;
  readonly slices: Readonly<Record<string, Evaluation>>;
  /** Per metric: max − min over slices with enough rows. */
  readonly gaps: Readonly<Record<string, number>>;
}

/** Evaluates each value of `sliceValues` separately (slices with fewer than `minRows` rows are skipped in gaps). */
export function evaluateSlices(
  task: Task,
  y: Float64Array,
  predictions: Predictions,
  column: string,
  sliceValues: readonly unknown[],
  minRows = 20,
): SliceEvaluation {
  const groups = new Map<string, number[]>();
  sliceValues.forEach((v, i) => {
    const key = v === null || v === undefined ? '(null)' : String(v);
    (groups.get(key) ?? groups.set(key, []).get(key)!).push(i);
  });
  const slices: Record<string, Evaluation> = {};
  const k = predictions.classes ?? 1;
  for (const [key, idx] of groups) {
    const ys = Float64Array.from(idx, (i) => y[i]!);
    const sub: Predictions = predictions.prediction
      ? { rows: idx.length, prediction: Float64Array.from(idx, (i) => predictions.prediction![i]!) }
      : {
          rows: idx.length,
          classes: k,
          probabilities: Float64Array.from(
            { length: idx.length * k },
            (_, j) => predictions.probabilities![idx[Math.floor(j / k)]! * k + (j % k)]!,
          ),
        };
    slices[key] = evaluate(task, ys, sub);
  }
  const gaps: Record<string, number> = {};
  const eligible = Object.values(slices).filter((s) => s.rows >= minRows);
  if (eligible.length >= 2)
    for (const metric of Object.keys(eligible[0]!.metrics)) {
      const values = eligible.map((s) => s.metrics[metric]!).filter((v) => !Number.isNaN(v));
      if (values.length >= 2) gaps[metric] = Math.max(...values) - Math.min(...values);
    }
  return { column, slices, gaps };
}
