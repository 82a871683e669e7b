import { z } from 'zod';
import { ValidationError } from '../../errors';
import { headInTs, modelInterface, outputHead } from '../onnx/heads';
import { ElementType, encodeModel } from '../onnx/proto';
import { adamStep } from '../optimizers';
import { seededRandom } from '../random';
import type { Dataset, Predictions, Task } from '../task';
import type { StepMetric, Trainer, TrainedModel, TrainInput } from './trainer';

/** Linear models cannot take missing values: the error names the column and the fix. */
export function assertNoMissing(data: Dataset, featureNames: readonly string[], trainer: string): void {
  for (let i = 0; i < data.X.length; i++)
    if (Number.isNaN(data.X[i]!)) {
      const column = featureNames[i % data.cols] ?? `#${i % data.cols}`;
      throw new ValidationError(
        `${trainer} cannot use missing values: feature "${column}" is missing at row ${Math.floor(i / data.cols) + 1}; declare an impute transformation for it on the feature view, or use the gbdt trainer.`,
        { location: column },
      );
    }
}

/** Scores = X·W + b for row-major X [rows, cols], W [cols, k] (weights rounded like the float32 graph). */
function linearScores(
  X: Float64Array,
  rows: number,
  cols: number,
  W: Float32Array,
  b: Float32Array,
  k: number,
): Float64Array {
  const out = new Float64Array(rows * k);
  for (let i = 0; i < rows; i++)
    for (let c = 0; c < k; c++) {
      let s = b[c]!;
      for (let j = 0; j < cols; j++) s += Math.fround(X[i * cols + j]!) * W[j * k + c]!;
      out[i * k + c] = s;
    }
  return out;
}

function linearModel(
  task: Task,
  cols: number,
  k: number,
  W: Float32Array,
  b: Float32Array,
  name: string,
): Uint8Array {
  const io = modelInterface(task, cols, task === 'binary' ? 2 : k);
  const head = outputHead(task, 'scores');
  return encodeModel({
    graphName: name,
    inputs: io.inputs,
    outputs: io.outputs,
    initializers: [
      { name: 'W', dims: [cols, k], type: ElementType.FLOAT, data: W },
      { name: 'B', dims: [k], type: ElementType.FLOAT, data: b },
      ...head.initializers,
    ],
    nodes: [{ opType: 'Gemm', inputs: ['features', 'W', 'B'], outputs: ['scores'] }, ...head.nodes],
    opsets: { '': 17 },
  });
}

function trained(
  task: Task,
  cols: number,
  k: number,
  W: Float64Array,
  b: Float64Array,
  name: string,
  params: Record<string, unknown>,
  history: StepMetric[],
  info: Record<string, number>,
): TrainedModel {
  const W32 = Float32Array.from(W);
  const b32 = Float32Array.from(b);
  return {
    onnx: linearModel(task, cols, k, W32, b32, name),
    predict: (X, rows) =>
      ({ rows, ...headInTs(task, linearScores(X, rows, cols, W32, b32, k), rows, k) }) as Predictions,
    params,
    history,
    info,
  };
}

const logisticParams = z
  .object({
    /** L2 penalty on the weights (not the intercept). */
    l2: z.number().min(0).max(1e6).default(1e-3),
    learningRate: z.number().gt(0).max(10).default(0.1),
    maxIterations: z.number().int().min(1).max(100_000).default(500),
    /** Stop when the loss improves less than this. */
    tolerance: z.number().min(0).default(1e-7),
  })
  .strict();

/**
 * Logistic regression (binary: sigmoid; multiclass: softmax) with L2 and an intercept, trained by
 * full-batch Adam on the cross-entropy. Exported as Gemm → Sigmoid/Softmax → ArgMax.
 */
export const logisticRegression: Trainer<typeof logisticParams> = {
  name: 'logistic_regression',
  tasks: ['binary', 'multiclass'],
  paramsSchema: logisticParams,
  async train(input: TrainInput, params, context): Promise<TrainedModel> {
    const { train } = input;
    assertNoMissing(train, input.featureNames, 'logistic_regression');
    const { rows, cols, X, y } = train;
    const k = input.task === 'binary' ? 1 : input.numClasses;
    const random = seededRandom(context.seed);
    const W = new Float64Array(cols * k).map(() => (random() - 0.5) * 1e-3);
    const b = new Float64Array(k);
    const mW = new Float64Array(W.length);
    const vW = new Float64Array(W.length);
    const mB = new Float64Array(k);
    const vB = new Float64Array(k);
    const gW = new Float64Array(W.length);
    const gB = new Float64Array(k);
    const history: StepMetric[] = [];
    const p = new Float64Array(k);
    let previous = Infinity;
    let iteration: number;
    for (iteration = 1; iteration <= params.maxIterations; iteration++) {
      gW.fill(0);
      gB.fill(0);
      let loss = 0;
      for (let i = 0; i < rows; i++) {
        const row = i * cols;
        for (let c = 0; c < k; c++) {
          let s = b[c]!;
          for (let j = 0; j < cols; j++) s += X[row + j]! * W[j * k + c]!;
          p[c] = s;
        }
        const label = y[i]!;
        if (k === 1) {
          const prob = 1 / (1 + Math.exp(-p[0]!));
          loss -= label === 1 ? Math.log(Math.max(prob, 1e-15)) : Math.log(Math.max(1 - prob, 1e-15));
          p[0] = prob - label;
        } else {
          let max = -Infinity;
          for (let c = 0; c < k; c++) max = Math.max(max, p[c]!);
          let sum = 0;
          for (let c = 0; c < k; c++) sum += p[c] = Math.exp(p[c]! - max);
          for (let c = 0; c < k; c++) p[c]! /= sum;
          loss -= Math.log(Math.max(p[label]!, 1e-15));
          p[label]! -= 1;
        }
        for (let c = 0; c < k; c++) {
          const g = p[c]!;
          gB[c]! += g;
          for (let j = 0; j < cols; j++) gW[j * k + c]! += g * X[row + j]!;
        }
      }
      let penalty = 0;
      for (let i = 0; i < W.length; i++) {
        gW[i] = gW[i]! / rows + params.l2 * W[i]!;
        penalty += W[i]! * W[i]!;
      }
      for (let c = 0; c < k; c++) gB[c]! /= rows;
      loss = loss / rows + (params.l2 / 2) * penalty;
      adamStep(W, gW, mW, vW, iteration, params.learningRate);
      adamStep(b, gB, mB, vB, iteration, params.learningRate);
      if (iteration % 10 === 0 || iteration === 1) {
        history.push({ step: iteration, key: 'train_loss', value: loss });
        context.onProgress?.(iteration, params.maxIterations, { train_loss: loss });
        context.checkCancelled?.();
      }
      if (Math.abs(previous - loss) < params.tolerance) break;
      previous = loss;
    }
    return trained(input.task, cols, k, W, b, 'logistic_regression', params, history, {
      iterations: Math.min(iteration, params.maxIterations),
    });
  },
};

const ridgeParams = z
  .object({
    /** L2 penalty (0 = ordinary least squares). */
    l2: z.number().min(0).max(1e9).default(0),
  })
  .strict();

/** Linear / ridge regression solved exactly (normal equations, Cholesky) with an unpenalized intercept. */
export const linearRegression: Trainer<typeof ridgeParams> = {
  name: 'linear_regression',
  tasks: ['regression'],
  paramsSchema: ridgeParams,
  async train(input: TrainInput, params): Promise<TrainedModel> {
    const { train } = input;
    assertNoMissing(train, input.featureNames, 'linear_regression');
    const { rows, cols, X, y } = train;
    // Centre the data so the intercept is not penalized.
    const meanX = new Float64Array(cols);
    let meanY = 0;
    for (let i = 0; i < rows; i++) {
      meanY += y[i]! / rows;
      for (let j = 0; j < cols; j++) meanX[j]! += X[i * cols + j]! / rows;
    }
    const A = new Float64Array(cols * cols);
    const rhs = new Float64Array(cols);
    const xc = new Float64Array(cols);
    for (let i = 0; i < rows; i++) {
      for (let j = 0; j < cols; j++) xc[j] = X[i * cols + j]! - meanX[j]!;
      const yc = y[i]! - meanY;
      for (let j = 0; j < cols; j++) {
        rhs[j]! += xc[j]! * yc;
        for (let l = 0; l <= j; l++) A[j * cols + l]! += xc[j]! * xc[l]!;
      }
    }
    for (let j = 0; j < cols; j++) {
      for (let l = 0; l < j; l++) A[l * cols + j] = A[j * cols + l]!;
      // A tiny ridge keeps collinear or constant columns solvable.
      A[j * cols + j]! += params.l2 + 1e-9 * (A[j * cols + j]! + 1);
    }
    const w = choleskySolve(A, rhs, cols);
    let intercept = meanY;
    for (let j = 0; j < cols; j++) intercept -= w[j]! * meanX[j]!;
    let sse = 0;
    for (let i = 0; i < rows; i++) {
      let s = intercept;
      for (let j = 0; j < cols; j++) s += w[j]! * X[i * cols + j]!;
      sse += (s - y[i]!) ** 2;
    }
    const history = [{ step: 1, key: 'train_rmse', value: Math.sqrt(sse / rows) }];
    return trained(
      'regression',
      cols,
      1,
      w,
      Float64Array.of(intercept),
      'linear_regression',
      params,
      history,
      { iterations: 1 },
    );
  },
};

/** Solves A·x = b for symmetric positive-definite A (row-major n × n). */
export function choleskySolve(A: Float64Array, b: Float64Array, n: number): Float64Array {
  const L = new Float64Array(n * n);
  for (let i = 0; i < n; i++)
    for (let j = 0; j <= i; j++) {
      let s = A[i * n + j]!;
      for (let k = 0; k < j; k++) s -= L[i * n + k]! * L[j * n + k]!;
      if (i === j) {
        if (s <= 0)
          throw new ValidationError(
            'linear regression: the features are degenerate (matrix not positive definite); set l2 > 0.',
          );
        L[i * n + i] = Math.sqrt(s);
      } else L[i * n + j] = s / L[j * n + j]!;
    }
  const z = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    let s = b[i]!;
    for (let k = 0; k < i; k++) s -= L[i * n + k]! * z[k]!;
    z[i] = s / L[i * n + i]!;
  }
  const x = new Float64Array(n);
  for (let i = n - 1; i >= 0; i--) {
    let s = z[i]!;
    for (let k = i + 1; k < n; k++) s -= L[k * n + i]! * x[k]!;
    x[i] = s / L[i * n + i]!;
  }
  return x;
}
