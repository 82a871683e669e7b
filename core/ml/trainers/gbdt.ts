import { z } from 'zod';
import { headInTs, modelInterface, outputHead } from '../onnx/heads';
import { encodeModel } from '../onnx/proto';
import { seededRandom } from '../random';
import type { Dataset, Predictions, Task } from '../task';
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
  })
  .strict();

/** `maxDeltaStep` when unset for binary and multiclass tasks (see the parameter). */
export const DEFAULT_CLASSIFIER_MAX_DELTA_STEP = 2;

/** GBDT hyperparameters after defaults. */
export type GbdtParams = z.output<typeof gbdtParams>;

interface Tree {
  /** Per node: feature (-1 = leaf), threshold (float32), left, right, value (leaf output, float32), split bin. */
  feature: number[];
  threshold: number[];
  bin: number[];
  left: number[];
  right: number[];
  value: number[];
  /** Output column (class) the tree adds to. */
  target: number;
}

/** Per-feature ascending float32 split points; bin = 1 + number of points below the value, 0 = missing. */
function binEdges(X: Float64Array, rows: number, cols: number, maxBins: number): Float32Array[] {
  const edges: Float32Array[] = [];
  const sampleEvery = Math.max(1, Math.floor(rows / 200_000));
  for (let f = 0; f < cols; f++) {
    const values: number[] = [];
    for (let i = 0; i < rows; i += sampleEvery) {
      const v = X[i * cols + f]!;
      if (!Number.isNaN(v)) values.push(Math.fround(v));
    }
    const sorted = Float64Array.from(values).sort();
    const unique: number[] = [];
    for (const v of sorted) if (unique.length === 0 || unique[unique.length - 1] !== v) unique.push(v);
    const budget = maxBins - 2;
    let points: number[];
    if (unique.length <= budget + 1) points = unique.slice(0, -1);
    else {
      const set = new Set<number>();
      for (let b = 1; b <= budget; b++)
        set.add(sorted[Math.min(sorted.length - 1, Math.floor((b * sorted.length) / (budget + 1)))]!);
      points = [...set].sort((a, b) => a - b);
    }
    edges.push(Float32Array.from(points));
  }
  return edges;
}

function binOf(edges: Float32Array, value: number): number {
  if (Number.isNaN(value)) return 0;
  const v = Math.fround(value);
  let lo = 0;
  let hi = edges.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (edges[mid]! < v) lo = mid + 1;
    else hi = mid;
  }
  return lo + 1;
}

/** Row-major bins: `bins[r * cols + f]`. */
function binMatrix(data: Dataset, edges: Float32Array[]): Uint8Array {
  const out = new Uint8Array(data.rows * data.cols);
  for (let r = 0; r < data.rows; r++)
    for (let f = 0; f < data.cols; f++) out[r * data.cols + f] = binOf(edges[f]!, data.X[r * data.cols + f]!);
  return out;
}

interface NodeWork {
  id: number;
  rows: Uint32Array;
  G: number;
  H: number;
  depth: number;
  hist?: Float64Array;
}

/**
 * Histogram gradient-boosted trees (binary logloss, multiclass softmax, squared error), depth-wise
 * growth with histogram subtraction, missing values learned to go left, row/feature subsampling,
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
    const edges = binEdges(train.X, rows, cols, B);
    const bins = binMatrix(train, edges);
    // Column-major copy: partitioning a node reads one feature for many rows.
    const columnBins = new Uint8Array(rows * cols);
    for (let r = 0; r < rows; r++)
      for (let f = 0; f < cols; f++) columnBins[f * rows + r] = bins[r * cols + f]!;
    const valid = input.validation;
    const validBins = valid ? binMatrix(valid, edges) : undefined;
    const random = seededRandom(context.seed);
    const maxLeaves = params.maxLeaves || 2 ** params.maxDepth;
    const maxDelta = params.maxDeltaStep ?? (task === 'regression' ? 0 : DEFAULT_CLASSIFIER_MAX_DELTA_STEP);
    const l2 = params.l2;
    /** A node's Newton step, capped at maxDelta (XGBoost's CalcWeight). */
    const weightOf = (G: number, H: number): number => {
      const w = -G / (H + l2);
      return maxDelta > 0 ? Math.max(-maxDelta, Math.min(maxDelta, w)) : w;
    };
    /** A node's loss reduction at its (capped) step (XGBoost's CalcGain / CalcGainGivenWeight). */
    const gainOf = (G: number, H: number): number => {
      if (maxDelta <= 0) return (G * G) / (H + l2);
      const w = weightOf(G, H);
      return -(2 * G * w + (H + l2) * w * w);
    };

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
    const scores = new Float64Array(rows * K);
    for (let i = 0; i < rows; i++) for (let k = 0; k < K; k++) scores[i * K + k] = base[k]!;
    const validScores = valid ? new Float64Array(valid.rows * K) : undefined;
    if (valid)
      for (let i = 0; i < valid.rows; i++) for (let k = 0; k < K; k++) validScores![i * K + k] = base[k]!;

    const grad = new Float64Array(rows * K);
    const hess = new Float64Array(rows * K);
    const trees: Tree[] = [];
    const history: StepMetric[] = [];
    let best = { loss: Infinity, round: 0 };
    const allRows = Uint32Array.from({ length: rows }, (_, i) => i);
    const histSize = cols * B * 2;

    for (let round = 1; round <= params.numTrees; round++) {
      gradients(task, K, train.y, scores, grad, hess);
      const sampled = params.subsample < 1 ? allRows.filter(() => random() < params.subsample) : allRows;
      const features: number[] = [];
      for (let f = 0; f < cols; f++)
        if (params.colsample >= 1 || random() < params.colsample) features.push(f);
      if (features.length === 0) features.push(Math.floor(random() * cols));
      const featureList = Int32Array.from(features);
      for (let k = 0; k < K; k++) {
        const tree = growTree(k);
        trees.push(tree);
        applyTree(tree, bins, rows, cols, scores, K);
        if (valid) applyTree(tree, validBins!, valid.rows, cols, validScores!, K);
      }
      const trainLoss = loss(task, K, train.y, scores);
      history.push({ step: round, key: 'train_loss', value: trainLoss });
      const metrics: Record<string, number> = { train_loss: trainLoss };
      if (valid) {
        const validLoss = loss(task, K, valid.y, validScores!);
        history.push({ step: round, key: 'validation_loss', value: validLoss });
        metrics.validation_loss = validLoss;
        if (validLoss < best.loss - 1e-12) best = { loss: validLoss, round };
        else if (params.earlyStoppingRounds > 0 && round - best.round >= params.earlyStoppingRounds) break;
      } else best = { loss: trainLoss, round };
      context.onProgress?.(round, params.numTrees, metrics);
      context.checkCancelled?.();

      function growTree(k: number): Tree {
        const tree: Tree = { feature: [], threshold: [], bin: [], left: [], right: [], value: [], target: k };
        const newNode = () => {
          tree.feature.push(-1);
          tree.threshold.push(0);
          tree.bin.push(0);
          tree.left.push(0);
          tree.right.push(0);
          tree.value.push(0);
          return tree.feature.length - 1;
        };
        let G = 0;
        let H = 0;
        for (const r of sampled) {
          G += grad[r * K + k]!;
          H += hess[r * K + k]!;
        }
        let level: NodeWork[] = [{ id: newNode(), rows: sampled, G, H, depth: 0 }];
        let leaves = 1;
        while (level.length > 0) {
          const next: NodeWork[] = [];
          // Best split of every node on this level, then split the best ones while leaves remain.
          const candidates = level.map((node) => {
            if (node.depth >= params.maxDepth) return { node, split: undefined };
            node.hist ??= histogram(node.rows, k);
            return { node, split: bestSplit(node) };
          });
          candidates.sort((a, b) => (b.split?.gain ?? -1) - (a.split?.gain ?? -1));
          for (const { node, split } of candidates) {
            if (!split || leaves >= maxLeaves) {
              tree.value[node.id] = Math.fround(weightOf(node.G, node.H) * params.learningRate);
              continue;
            }
            leaves += 1;
            const { f, b } = split;
            const nodeRows = node.rows;
            const column = columnBins.subarray(f * rows, (f + 1) * rows);
            let nLeft = 0;
            for (let i = 0; i < nodeRows.length; i++) if (column[nodeRows[i]!]! <= b) nLeft++;
            const leftRows = new Uint32Array(nLeft);
            const rightRows = new Uint32Array(nodeRows.length - nLeft);
            let li = 0;
            let ri = 0;
            for (let i = 0; i < nodeRows.length; i++) {
              const r = nodeRows[i]!;
              if (column[r]! <= b) leftRows[li++] = r;
              else rightRows[ri++] = r;
            }
            const left: NodeWork = {
              id: newNode(),
              rows: leftRows,
              G: split.GL,
              H: split.HL,
              depth: node.depth + 1,
            };
            const right: NodeWork = {
              id: newNode(),
              rows: rightRows,
              G: node.G - split.GL,
              H: node.H - split.HL,
              depth: node.depth + 1,
            };
            // Histogram subtraction: build the smaller child, derive the larger.
            if (left.depth < params.maxDepth) {
              const [small, large] = leftRows.length <= rightRows.length ? [left, right] : [right, left];
              small.hist = histogram(small.rows, k);
              const h = new Float64Array(histSize);
              for (let i = 0; i < histSize; i++) h[i] = node.hist![i]! - small.hist[i]!;
              large.hist = h;
            }
            node.hist = undefined;
            tree.feature[node.id] = f;
            tree.bin[node.id] = b;
            tree.threshold[node.id] = edges[f]![b - 1]!;
            tree.left[node.id] = left.id;
            tree.right[node.id] = right.id;
            next.push(left, right);
          }
          level = next;
        }
        return tree;
      }

      function histogram(nodeRows: Uint32Array, k: number): Float64Array {
        // The hot loop of training: plain indexed loops over typed arrays.
        const h = new Float64Array(histSize);
        const nf = featureList.length;
        for (let idx = 0; idx < nodeRows.length; idx++) {
          const r = nodeRows[idx]!;
          const g = grad[r * K + k]!;
          const hh = hess[r * K + k]!;
          const base = r * cols;
          for (let q = 0; q < nf; q++) {
            const f = featureList[q]!;
            const at = (f * B + bins[base + f]!) << 1;
            h[at]! += g;
            h[at + 1]! += hh;
          }
        }
        return h;
      }

      function bestSplit(
        node: NodeWork,
      ): { f: number; b: number; gain: number; GL: number; HL: number } | undefined {
        let best: { f: number; b: number; gain: number; GL: number; HL: number } | undefined;
        const parent = gainOf(node.G, node.H);
        const h = node.hist!;
        for (const f of features) {
          const nEdges = edges[f]!.length;
          let GL = h[f * B * 2]!;
          let HL = h[f * B * 2 + 1]!;
          // Left = bins 0..b (missing values always go left); b = nEdges would leave the right empty.
          for (let b = 1; b <= nEdges; b++) {
            GL += h[(f * B + b) * 2]!;
            HL += h[(f * B + b) * 2 + 1]!;
            const HR = node.H - HL;
            if (HL < params.minChildWeight || HR < params.minChildWeight) continue;
            const GR = node.G - GL;
            const gain = gainOf(GL, HL) + gainOf(GR, HR) - parent;
            if (gain > params.minSplitGain && (!best || gain > best.gain)) best = { f, b, gain, GL, HL };
          }
        }
        return best;
      }
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
  },
};

function gradients(
  task: Task,
  K: number,
  y: Float64Array,
  scores: Float64Array,
  grad: Float64Array,
  hess: Float64Array,
): void {
  const rows = y.length;
  if (task === 'regression') {
    for (let i = 0; i < rows; i++) {
      grad[i] = scores[i]! - y[i]!;
      hess[i] = 1;
    }
  } else if (task === 'binary') {
    for (let i = 0; i < rows; i++) {
      const p = 1 / (1 + Math.exp(-scores[i]!));
      grad[i] = p - y[i]!;
      hess[i] = Math.max(p * (1 - p), 1e-16);
    }
  } else {
    for (let i = 0; i < rows; i++) {
      let max = -Infinity;
      for (let k = 0; k < K; k++) max = Math.max(max, scores[i * K + k]!);
      let sum = 0;
      for (let k = 0; k < K; k++) sum += Math.exp(scores[i * K + k]! - max);
      for (let k = 0; k < K; k++) {
        const p = Math.exp(scores[i * K + k]! - max) / sum;
        grad[i * K + k] = p - (y[i] === k ? 1 : 0);
        hess[i * K + k] = Math.max(2 * p * (1 - p), 1e-16);
      }
    }
  }
}

function loss(task: Task, K: number, y: Float64Array, scores: Float64Array): number {
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

function exportTrees(
  task: Task,
  cols: number,
  K: number,
  classes: number,
  base: Float64Array,
  trees: readonly Tree[],
): Uint8Array {
  const a = {
    treeIds: [] as number[],
    nodeIds: [] as number[],
    featureIds: [] as number[],
    modes: [] as string[],
    values: [] as number[],
    trueIds: [] as number[],
    falseIds: [] as number[],
    missingTrue: [] as number[],
    targetTree: [] as number[],
    targetNode: [] as number[],
    targetIds: [] as number[],
    targetWeights: [] as number[],
  };
  trees.forEach((tree, t) => {
    for (let n = 0; n < tree.feature.length; n++) {
      const leaf = tree.feature[n]! < 0;
      a.treeIds.push(t);
      a.nodeIds.push(n);
      a.featureIds.push(leaf ? 0 : tree.feature[n]!);
      a.modes.push(leaf ? 'LEAF' : 'BRANCH_LEQ');
      a.values.push(leaf ? 0 : tree.threshold[n]!);
      a.trueIds.push(leaf ? 0 : tree.left[n]!);
      a.falseIds.push(leaf ? 0 : tree.right[n]!);
      a.missingTrue.push(leaf ? 0 : 1);
      if (leaf) {
        a.targetTree.push(t);
        a.targetNode.push(n);
        a.targetIds.push(tree.target);
        a.targetWeights.push(tree.value[n]!);
      }
    }
  });
  const io = modelInterface(task, cols, task === 'binary' ? 2 : classes);
  const head = outputHead(task, 'scores');
  return encodeModel({
    graphName: 'gbdt',
    inputs: io.inputs,
    outputs: io.outputs,
    initializers: head.initializers,
    nodes: [
      {
        opType: 'TreeEnsembleRegressor',
        domain: 'ai.onnx.ml',
        inputs: ['features'],
        outputs: ['scores'],
        attributes: {
          n_targets: { kind: 'int', value: K },
          aggregate_function: { kind: 'string', value: 'SUM' },
          post_transform: { kind: 'string', value: 'NONE' },
          base_values: { kind: 'floats', value: base },
          nodes_treeids: { kind: 'ints', value: a.treeIds },
          nodes_nodeids: { kind: 'ints', value: a.nodeIds },
          nodes_featureids: { kind: 'ints', value: a.featureIds },
          nodes_modes: { kind: 'strings', value: a.modes },
          nodes_values: { kind: 'floats', value: a.values },
          nodes_truenodeids: { kind: 'ints', value: a.trueIds },
          nodes_falsenodeids: { kind: 'ints', value: a.falseIds },
          nodes_missing_value_tracks_true: { kind: 'ints', value: a.missingTrue },
          target_treeids: { kind: 'ints', value: a.targetTree },
          target_nodeids: { kind: 'ints', value: a.targetNode },
          target_ids: { kind: 'ints', value: a.targetIds },
          target_weights: { kind: 'floats', value: a.targetWeights },
        },
      },
      ...head.nodes,
    ],
    opsets: { '': 17, 'ai.onnx.ml': 3 },
  });
}
