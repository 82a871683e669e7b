import os from 'node:os';
import { z } from 'zod';
import { headInTs } from '../onnx/heads';
import { seededRandom } from '../random';
import type { Dataset, Predictions, Task } from '../task';
import { binRows } from './gbdt-bins';
import { TreeGrower } from './gbdt-grow';
import { exportTrees, type Tree } from './gbdt-onnx';
import { allocateState, OP, viewState } from './gbdt-state';
import { GbdtTeam } from './gbdt-team';
import type { StepMetric, Trainer, TrainedModel, TrainInput } from './trainer';

const gbdtParams = z
  .object({
    numTrees: z.number().int().min(1).max(10_000).default(100),
    maxDepth: z.number().int().min(1).max(16).default(6),
    /** Leaves per tree (0 = 2^maxDepth). */
    maxLeaves: z.number().int().min(0).max(65_536).default(0),
    learningRate: z.number().gt(0).max(1).default(0.1),
    /** Histogram bins per feature (≤ 256; one is reserved for missing values). */
    maxBins: z.number().int().min(4).max(256).default(256),
    /** Minimum hessian sum in a child. */
    minChildWeight: z.number().min(0).default(1),
    /** L2 regularization of leaf values. */
    l2: z.number().min(0).default(1),
    minSplitGain: z.number().min(0).default(0),
    /**
     * Cap on a leaf's Newton step before the learning rate (XGBoost's `max_delta_step`; 0 = no cap).
     * Unset: 2 for binary and multiclass, none for regression. With rare positives a leaf's
     * hessian sum is tiny, so an uncapped step overshoots (AUC below 0.5 on Example 1's data).
     */
    maxDeltaStep: z.number().min(0).optional(),
    /** Fraction of rows sampled per tree. */
    subsample: z.number().gt(0).max(1).default(1),
    /** Fraction of features sampled per tree. */
    colsample: z.number().gt(0).max(1).default(1),
    /** Stop when the validation loss has not improved for this many trees (needs a validation split; 0 = off). */
    earlyStoppingRounds: z.number().int().min(0).default(10),
    /**
     * Threads building histograms (0 = one per core, or 1 below 20,000 rows). The model does not
     * depend on it: histogram sums are exact, whatever the split of rows over threads.
     */
    threads: z.number().int().min(0).max(256).default(0),
  })
  .strict();

/** `maxDeltaStep` when unset for binary and multiclass tasks (see the parameter). */
export const DEFAULT_CLASSIFIER_MAX_DELTA_STEP = 2;

/** GBDT hyperparameters after defaults. */
export type GbdtParams = z.output<typeof gbdtParams>;

/** Below this many training rows, `threads: 0` trains on the calling thread alone (helpers cost more than they save). */
export const GBDT_THREADED_MIN_ROWS = 20_000;

/** The threads a run uses: `threads` when set, else one per core from GBDT_THREADED_MIN_ROWS rows. */
export function trainingThreads(threads: number, rows: number): number {
  if (threads > 0) return threads;
  return rows >= GBDT_THREADED_MIN_ROWS ? Math.max(1, os.availableParallelism()) : 1;
}

/**
 * Histogram gradient-boosted trees (binary logloss, multiclass softmax, squared error), depth-wise
 * growth with histogram subtraction on all cores (see gbdt-state.ts), missing values learned to go left, row/feature subsampling,
 * early stopping on the validation split. Exported as ONNX `ai.onnx.ml` TreeEnsembleRegressor
 * (opset 3) plus standard Sigmoid/Softmax/ArgMax nodes.
 */
export const gbdt: Trainer<typeof gbdtParams> = {
  name: 'gbdt',
  tasks: ['binary', 'multiclass', 'regression'],
  paramsSchema: gbdtParams,
  async train(input: TrainInput, params, context): Promise<TrainedModel> {
    const { task, train } = input;
    const { rows, cols } = train;
    const K = task === 'multiclass' ? input.numClasses : 1;
    const B = params.maxBins;
    const maxLeaves = params.maxLeaves || 2 ** params.maxDepth;
    const threads = trainingThreads(params.threads, rows);
    const buffers = allocateState({
      threads,
      rows,
      cols,
      K,
      maxBins: B,
      task: task === 'regression' ? 0 : task === 'binary' ? 1 : 2,
      maxNodes: Math.min(2 * maxLeaves - 1, 2 ** (params.maxDepth + 1) - 1),
      // Several blocks per thread, so that work items can be shared out as threads free up.
      blocks: threads === 1 ? 1 : Math.min(64, 8 * threads),
    });
    // Helpers boot while this thread copies the data into the shared buffers (as float32: what
    // binning compares); then every thread bins.
    const starting = GbdtTeam.start(buffers);
    const shared = viewState(buffers);
    shared.raw.set(train.X);
    shared.y.set(train.y);
    const team = await starting;
    try {
      team.run(OP.edges);
      team.run(OP.bin);
      const edges = Array.from({ length: cols }, (_, f) =>
        shared.edges.slice(f * B, f * B + shared.edgeCount[f]!),
      );
      const valid = input.validation;
      const validBins = valid ? new Uint8Array(valid.rows * cols) : undefined;
      if (valid) binRows(valid, edges, validBins!);
      return fit(team, edges, valid, validBins);
    } finally {
      await team.close();
    }

    function fit(
      team: GbdtTeam,
      edges: readonly Float32Array[],
      valid: Dataset | undefined,
      validBins: Uint8Array | undefined,
    ): TrainedModel {
      const s = team.state;
      const random = seededRandom(context.seed);
      const maxDelta = params.maxDeltaStep ?? (task === 'regression' ? 0 : DEFAULT_CLASSIFIER_MAX_DELTA_STEP);
      const grower = new TreeGrower(team, {
        maxDepth: params.maxDepth,
        maxLeaves,
        learningRate: params.learningRate,
        minChildWeight: params.minChildWeight,
        minSplitGain: params.minSplitGain,
        l2: params.l2,
        maxDelta,
        edges,
      });

      // Initial scores.
      const base = new Float64Array(K);
      if (task === 'regression') base[0] = train.y.reduce((a, b) => a + b, 0) / rows;
      else if (task === 'binary') {
        const p = Math.min(Math.max(train.y.reduce((a, b) => a + b, 0) / rows, 1e-6), 1 - 1e-6);
        base[0] = Math.log(p / (1 - p));
      } else {
        const counts = new Float64Array(K);
        for (let i = 0; i < rows; i++) counts[train.y[i]!]! += 1;
        for (let k = 0; k < K; k++) base[k] = Math.log(Math.max(counts[k]! / rows, 1e-6));
      }
      for (let k = 0; k < K; k++) base[k] = Math.fround(base[k]!);
      const scores = s.scores;
      for (let i = 0; i < rows; i++) for (let k = 0; k < K; k++) scores[i * K + k] = base[k]!;
      const validScores = valid ? new Float64Array(valid.rows * K) : undefined;
      if (valid)
        for (let i = 0; i < valid.rows; i++) for (let k = 0; k < K; k++) validScores![i * K + k] = base[k]!;

      const trees: Tree[] = [];
      const history: StepMetric[] = [];
      let best = { loss: Infinity, round: 0 };
      const allRows = Uint32Array.from({ length: rows }, (_, i) => i);
      const partialSample = params.subsample < 1;
      /** The loss of the current scores (and the gradients for the next tree). */
      const trainLoss = (): number => {
        team.run(OP.gradients);
        let total = 0;
        for (const chunk of s.lossChunks) total += chunk;
        return task === 'regression' ? Math.sqrt(total / rows) : total / rows;
      };
      trainLoss();

      for (let round = 1; round <= params.numTrees; round++) {
        let sample = allRows;
        if (partialSample) {
          sample = allRows.filter(() => random() < params.subsample);
          s.sampledMask.fill(0);
          for (const r of sample) s.sampledMask[r] = 1;
        }
        const features: number[] = [];
        for (let f = 0; f < cols; f++)
          if (params.colsample >= 1 || random() < params.colsample) features.push(f);
        if (features.length === 0) features.push(Math.floor(random() * cols));
        for (let k = 0; k < K; k++) {
          // Every tree starts from the sample in row order (growth reorders it).
          s.index.set(sample);
          const tree = grower.grow(k, sample.length, features);
          trees.push(tree);
          grower.apply(tree, partialSample);
          if (valid) applyTree(tree, validBins!, valid.rows, cols, validScores!, K);
        }
        const loss = trainLoss();
        history.push({ step: round, key: 'train_loss', value: loss });
        const metrics: Record<string, number> = { train_loss: loss };
        if (valid) {
          const validLoss = datasetLoss(task, K, valid.y, validScores!);
          history.push({ step: round, key: 'validation_loss', value: validLoss });
          metrics.validation_loss = validLoss;
          if (validLoss < best.loss - 1e-12) best = { loss: validLoss, round };
          else if (params.earlyStoppingRounds > 0 && round - best.round >= params.earlyStoppingRounds) break;
        } else best = { loss, round };
        context.onProgress?.(round, params.numTrees, metrics);
        context.checkCancelled?.();
      }
      const kept = trees.slice(0, best.round * K);
      const predict = (X: Float64Array, n: number): Predictions => {
        const out = new Float64Array(n * K);
        for (let i = 0; i < n; i++) for (let k = 0; k < K; k++) out[i * K + k] = base[k]!;
        for (const tree of kept)
          for (let i = 0; i < n; i++) {
            let node = 0;
            while (tree.feature[node]! >= 0) {
              const v = X[i * cols + tree.feature[node]!]!;
              node =
                Number.isNaN(v) || Math.fround(v) <= tree.threshold[node]!
                  ? tree.left[node]!
                  : tree.right[node]!;
            }
            out[i * K + tree.target]! += tree.value[node]!;
          }
        return { rows: n, ...headInTs(task, out, n, K) } as Predictions;
      };
      return {
        onnx: exportTrees(task, cols, K, input.numClasses, base, kept),
        predict,
        params,
        history,
        info: { trees: kept.length, rounds: best.round, ...(valid ? { bestValidationLoss: best.loss } : {}) },
      };
    }
  },
};

function applyTree(
  tree: Tree,
  bins: Uint8Array,
  rows: number,
  cols: number,
  scores: Float64Array,
  K: number,
): void {
  for (let i = 0; i < rows; i++) {
    let node = 0;
    while (tree.feature[node]! >= 0)
      node = bins[i * cols + tree.feature[node]!]! <= tree.bin[node]! ? tree.left[node]! : tree.right[node]!;
    scores[i * K + tree.target]! += tree.value[node]!;
  }
}

/** Loss of `scores` against `y`, summed in row order (the validation split's, on this thread). */
function datasetLoss(task: Task, K: number, y: Float64Array, scores: Float64Array): number {
  let total = 0;
  const n = y.length;
  for (let i = 0; i < n; i++) {
    if (task === 'regression') total += (scores[i]! - y[i]!) ** 2;
    else if (task === 'binary') {
      const p = 1 / (1 + Math.exp(-scores[i]!));
      total -= y[i] === 1 ? Math.log(Math.max(p, 1e-15)) : Math.log(Math.max(1 - p, 1e-15));
    } else {
      let max = -Infinity;
      for (let k = 0; k < K; k++) max = Math.max(max, scores[i * K + k]!);
      let sum = 0;
      for (let k = 0; k < K; k++) sum += Math.exp(scores[i * K + k]! - max);
      total -= scores[i * K + y[i]!]! - max - Math.log(sum);
    }
  }
  return task === 'regression' ? Math.sqrt(total / n) : total / n;
}
