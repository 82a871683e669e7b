import type { z } from 'zod';
import type { Dataset, Predictions, Task } from '../task';

/** One recorded metric value at a step (tree, epoch, iteration). */
export interface StepMetric {
  readonly step: number;
  readonly key: string;
  readonly value: number;
}

/** What a trainer gets besides data and hyperparameters. */
export interface TrainContext {
  readonly seed: number;
  /** Progress for heartbeats: `done` of `total` steps and the latest metrics. */
  readonly onProgress?: (done: number, total: number, metrics?: Readonly<Record<string, number>>) => void;
  /** Throws when the run is cancelled (called between steps). */
  readonly checkCancelled?: () => void;
}

/** Data given to a trainer. */
export interface TrainInput {
  readonly task: Task;
  /** Classes for classification (≥ 2). */
  readonly numClasses: number;
  readonly featureNames: readonly string[];
  readonly train: Dataset;
  /** Used for early stopping when present. */
  readonly validation?: Dataset;
}

/**
 * A trained model: its ONNX bytes (input `features` float [N, D]; outputs `label` int64 [N] and
 * `probabilities` float [N, C] for classification, `prediction` float [N] for regression) and the
 * trainer's own predict function, used to check the ONNX export.
 */
export interface TrainedModel {
  readonly onnx: Uint8Array;
  predict(X: Float64Array, rows: number): Predictions;
  /** Hyperparameters after defaults. */
  readonly params: Readonly<Record<string, unknown>>;
  /** Per-step metrics (training/validation loss per tree or epoch). */
  readonly history: readonly StepMetric[];
  /** e.g. `{ trees: 87, bestIteration: 77 }`. */
  readonly info: Readonly<Record<string, number | string>>;
}

/** A trainer: validated hyperparameters in, a {@link TrainedModel} out. */
export interface Trainer<P extends z.ZodType = z.ZodType> {
  readonly name: string;
  readonly tasks: readonly Task[];
  readonly paramsSchema: P;
  train(input: TrainInput, params: z.output<P>, context: TrainContext): Promise<TrainedModel>;
}
