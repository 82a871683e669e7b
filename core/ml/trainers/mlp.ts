import { z } from 'zod';
import { headInTs, modelInterface, outputHead } from '../onnx/heads';
import { ElementType, encodeModel, type NodeSpec, type TensorSpec } from '../onnx/proto';
import { adamStep } from '../optimizers';
import { normalFrom, permutation, seededRandom } from '../random';
import type { Dataset, Predictions, Task } from '../task';
import { assertNoMissing } from './linear';
import type { StepMetric, Trainer, TrainedModel, TrainInput } from './trainer';

const mlpParams = z
  .object({
    /** Units of each hidden layer. */
    hidden: z.array(z.number().int().min(1).max(4096)).min(1).max(8).default([32, 16]),
    learningRate: z.number().gt(0).max(1).default(1e-3),
    epochs: z.number().int().min(1).max(10_000).default(50),
    batchSize: z.number().int().min(1).max(65_536).default(128),
    /** L2 weight decay. */
    l2: z.number().min(0).default(0),
    /** Stop when the validation loss has not improved for this many epochs (0 = off). */
    patience: z.number().int().min(0).default(5),
  })
  .strict();

interface Layer {
  W: Float64Array; // [in, out]
  b: Float64Array;
  inputs: number;
  outputs: number;
}

/** Forward pass of one row; returns every layer's activations (last = raw scores). */
function forward(layers: readonly Layer[], x: ArrayLike<number>, acts: Float64Array[]): Float64Array {
  let input = x;
  layers.forEach((layer, l) => {
    const out = acts[l]!;
    for (let o = 0; o < layer.outputs; o++) {
      let s = layer.b[o]!;
      for (let i = 0; i < layer.inputs; i++) s += input[i]! * layer.W[i * layer.outputs + o]!;
      out[o] = l < layers.length - 1 ? Math.max(0, s) : s;
    }
    input = out;
  });
  return acts[layers.length - 1]!;
}

function rowLoss(task: Task, scores: Float64Array, y: number, grad: Float64Array): number {
  if (task === 'regression') {
    const d = scores[0]! - y;
    grad[0] = d;
    return d * d;
  }
  if (task === 'binary') {
    const p = 1 / (1 + Math.exp(-scores[0]!));
    grad[0] = p - y;
    return -(y === 1 ? Math.log(Math.max(p, 1e-15)) : Math.log(Math.max(1 - p, 1e-15)));
  }
  let max = -Infinity;
  for (const s of scores) max = Math.max(max, s);
  let sum = 0;
  for (let k = 0; k < scores.length; k++) sum += grad[k] = Math.exp(scores[k]! - max);
  for (let k = 0; k < scores.length; k++) grad[k]! /= sum;
  const loss = -Math.log(Math.max(grad[y]!, 1e-15));
  grad[y]! -= 1;
  return loss;
}

/**
 * A small multilayer perceptron: dense layers with ReLU, Adam on minibatches, early stopping on the
 * validation split (the best epoch's weights are kept). Exported as Gemm/Relu layers + the head.
 */
export const mlp: Trainer<typeof mlpParams> = {
  name: 'mlp',
  tasks: ['binary', 'multiclass', 'regression'],
  paramsSchema: mlpParams,
  async train(input: TrainInput, params, context): Promise<TrainedModel> {
    const { task, train } = input;
    assertNoMissing(train, input.featureNames, 'mlp');
    if (input.validation) assertNoMissing(input.validation, input.featureNames, 'mlp');
    const K = task === 'multiclass' ? input.numClasses : 1;
    const random = seededRandom(context.seed);
    const normal = normalFrom(random);
    const sizes = [train.cols, ...params.hidden, K];
    const layers: Layer[] = sizes.slice(1).map((outputs, l) => {
      const inputs = sizes[l]!;
      const scale = Math.sqrt(2 / inputs);
      return {
        W: new Float64Array(inputs * outputs).map(() => normal() * scale),
        b: new Float64Array(outputs),
        inputs,
        outputs,
      };
    });
    const adam = layers.map((l) => ({
      mW: new Float64Array(l.W.length),
      vW: new Float64Array(l.W.length),
      mb: new Float64Array(l.b.length),
      vb: new Float64Array(l.b.length),
    }));
    const grads = layers.map((l) => ({ W: new Float64Array(l.W.length), b: new Float64Array(l.b.length) }));
    const acts = layers.map((l) => new Float64Array(l.outputs));
    const deltas = layers.map((l) => new Float64Array(l.outputs));
    const history: StepMetric[] = [];
    let step = 0;
    let best = { loss: Infinity, epoch: 0, weights: layers.map((l) => ({ W: l.W.slice(), b: l.b.slice() })) };

    const evaluate = (data: Dataset) => {
      let total = 0;
      const g = new Float64Array(K);
      for (let i = 0; i < data.rows; i++) {
        const scores = forward(layers, data.X.subarray(i * data.cols, (i + 1) * data.cols), acts);
        total += rowLoss(task, scores, data.y[i]!, g);
      }
      return task === 'regression' ? Math.sqrt(total / data.rows) : total / data.rows;
    };

    for (let epoch = 1; epoch <= params.epochs; epoch++) {
      const order = permutation(train.rows, random);
      for (let start = 0; start < train.rows; start += params.batchSize) {
        const end = Math.min(train.rows, start + params.batchSize);
        for (const g of grads) {
          g.W.fill(0);
          g.b.fill(0);
        }
        for (let n = start; n < end; n++) {
          const r = order[n]!;
          const x = train.X.subarray(r * train.cols, (r + 1) * train.cols);
          const scores = forward(layers, x, acts);
          rowLoss(task, scores, train.y[r]!, deltas[layers.length - 1]!);
          for (let l = layers.length - 1; l >= 0; l--) {
            const layer = layers[l]!;
            const input = l === 0 ? x : acts[l - 1]!;
            const delta = deltas[l]!;
            const g = grads[l]!;
            for (let o = 0; o < layer.outputs; o++) {
              g.b[o]! += delta[o]!;
              for (let i = 0; i < layer.inputs; i++) g.W[i * layer.outputs + o]! += input[i]! * delta[o]!;
            }
            if (l > 0) {
              const prev = deltas[l - 1]!;
              for (let i = 0; i < layer.inputs; i++) {
                let s = 0;
                for (let o = 0; o < layer.outputs; o++) s += layer.W[i * layer.outputs + o]! * delta[o]!;
                prev[i] = acts[l - 1]![i]! > 0 ? s : 0;
              }
            }
          }
        }
        step += 1;
        const n = end - start;
        layers.forEach((layer, l) => {
          const g = grads[l]!;
          for (let i = 0; i < g.W.length; i++) g.W[i] = g.W[i]! / n + params.l2 * layer.W[i]!;
          for (let i = 0; i < g.b.length; i++) g.b[i]! /= n;
          adamStep(layer.W, g.W, adam[l]!.mW, adam[l]!.vW, step, params.learningRate);
          adamStep(layer.b, g.b, adam[l]!.mb, adam[l]!.vb, step, params.learningRate);
        });
      }
      const trainLoss = evaluate(train);
      history.push({ step: epoch, key: 'train_loss', value: trainLoss });
      const metrics: Record<string, number> = { train_loss: trainLoss };
      const monitored = input.validation ? evaluate(input.validation) : trainLoss;
      if (input.validation) {
        history.push({ step: epoch, key: 'validation_loss', value: monitored });
        metrics.validation_loss = monitored;
      }
      if (monitored < best.loss - 1e-12)
        best = { loss: monitored, epoch, weights: layers.map((l) => ({ W: l.W.slice(), b: l.b.slice() })) };
      context.onProgress?.(epoch, params.epochs, metrics);
      context.checkCancelled?.();
      if (input.validation && params.patience > 0 && epoch - best.epoch >= params.patience) break;
    }
    const final = best.weights.map((w, l) => ({
      ...layers[l]!,
      W: Float64Array.from(Float32Array.from(w.W)),
      b: Float64Array.from(Float32Array.from(w.b)),
    }));
    const predict = (X: Float64Array, rows: number): Predictions => {
      const scores = new Float64Array(rows * K);
      const a = final.map((l) => new Float64Array(l.outputs));
      const x = new Float64Array(train.cols);
      for (let i = 0; i < rows; i++) {
        for (let j = 0; j < train.cols; j++) x[j] = Math.fround(X[i * train.cols + j]!);
        scores.set(forward(final, x, a), i * K);
      }
      return { rows, ...headInTs(task, scores, rows, K) } as Predictions;
    };
    return {
      onnx: exportMlp(task, train.cols, input.numClasses, final),
      predict,
      params,
      history,
      info: { epochs: history.filter((h) => h.key === 'train_loss').length, bestEpoch: best.epoch },
    };
  },
};

function exportMlp(task: Task, cols: number, classes: number, layers: readonly Layer[]): Uint8Array {
  const nodes: NodeSpec[] = [];
  const initializers: TensorSpec[] = [];
  let current = 'features';
  layers.forEach((layer, l) => {
    initializers.push(
      { name: `W${l}`, dims: [layer.inputs, layer.outputs], type: ElementType.FLOAT, data: layer.W },
      { name: `B${l}`, dims: [layer.outputs], type: ElementType.FLOAT, data: layer.b },
    );
    const out = l === layers.length - 1 ? 'scores' : `h${l}`;
    nodes.push({
      opType: 'Gemm',
      inputs: [current, `W${l}`, `B${l}`],
      outputs: [l === layers.length - 1 ? out : `z${l}`],
    });
    if (l < layers.length - 1) nodes.push({ opType: 'Relu', inputs: [`z${l}`], outputs: [out] });
    current = out;
  });
  const head = outputHead(task, 'scores');
  const io = modelInterface(task, cols, task === 'binary' ? 2 : classes);
  return encodeModel({
    graphName: 'mlp',
    inputs: io.inputs,
    outputs: io.outputs,
    initializers: [...initializers, ...head.initializers],
    nodes: [...nodes, ...head.nodes],
    opsets: { '': 17 },
  });
}
